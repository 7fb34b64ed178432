"""`create_app`: the route table, the middleware and the error handlers.

Every route the provider serves is listed here, so a reader sees the whole surface at once.
"""

from __future__ import annotations

from pathlib import Path

from anyio import CapacityLimiter
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.core.provider import Provider
from idp.http import authorize, discovery, interaction, logout, revocation, token, userinfo
from idp.http.render import ERROR_HANDLERS


def routes() -> list[Route | Mount]:
    return [
        Route("/.well-known/openid-configuration", discovery.configuration, methods=["GET"]),
        Route("/jwks", discovery.jwks, methods=["GET"]),
        Route("/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/interaction/{interaction_id}", interaction.show, methods=["GET"]),
        Route("/interaction/{interaction_id}/login", interaction.login, methods=["POST"]),
        Route("/interaction/{interaction_id}/consent", interaction.consent, methods=["POST"]),
        Route("/token", token.token, methods=["POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        Route("/revoke", revocation.revoke, methods=["POST"]),
        Route("/logout", logout.logout, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"),
    ]


class SecurityHeaders:
    """Headers every response carries; pages get a CSP with no inline script and no framing."""

    CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
           "frame-ancestors 'none'")

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend([
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", self.CSP.encode()),
                ])
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(provider: Provider) -> Starlette:
    app = Starlette(routes=routes(), exception_handlers=ERROR_HANDLERS)  # type: ignore[arg-type]
    app.state.provider = provider
    app.state.published = discovery.Published(provider)
    app.state.password_limiter = CapacityLimiter(provider.settings.password_workers)
    app.add_middleware(SecurityHeaders, hsts=provider.settings.secure_cookies)
    return app
