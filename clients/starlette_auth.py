"""Log in with PostID in a Starlette app (needs the `starlette` extra).

    auth = PostIDAuth(AsyncPostIDClient(...), session_secret=...)
    app = Starlette(routes=[..., *auth.routes], middleware=[auth.middleware])

gives `/login`, `/callback`, `/logout` (POST), `/backchannel-logout` (POST), and
`request.state.user` (a `PostIDUser` or None) on every request. `requires_level("LoA2")` guards
an endpoint and steps the citizen up through the provider when their level is too low.
"""

from __future__ import annotations

import functools
import html
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .async_client import AsyncPostIDClient
from .authorization import LoginRequest
from .clock import Clock, system_clock
from .defaults import ASSURANCE_LEVELS
from .errors import AuthorizationDenied, ConfigurationError, InsufficientAssurance, PostIDError, StateMismatch
from .levels import meets_level
from .sessions import InMemorySessionStore, SessionStore, new_session_id, sign_session_id, unsign_session_id
from .tokens import TokenSet

__all__ = ["PostIDAuth", "PostIDUser", "requires_level", "requires_login"]

SESSION_LIFETIME = 8 * 3600
"""Seconds a portal session lasts at most, whatever the activity (a working day)."""
PENDING_LOGINS = 5
"""Logins started and not finished kept per browser (several tabs), oldest dropped first."""
LOGIN_LIFETIME = 10 * 60
"""Seconds a browser session that holds only logins in progress lasts (the provider's own wait for
a login, `IDP_INTERACTION_TTL`): an anonymous `/login` must not hold state for a working day."""
_PROTOCOL_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti"})

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


@dataclass(frozen=True)
class PostIDUser:
    """The logged-in citizen: who (`sub`), how strongly (`acr`, `amr`), and the released claims."""

    sub: str
    acr: str | None
    amr: tuple[str, ...]
    sid: str | None
    auth_time: int | None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        value = self.claims.get("name")
        return value if isinstance(value, str) else None

    def has_level(self, level: str, levels: Sequence[str] = ASSURANCE_LEVELS) -> bool:
        return meets_level(self.acr, level, levels)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["amr"] = list(self.amr)
        data["claims"] = dict(self.claims)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PostIDUser:
        return cls(
            sub=data["sub"],
            acr=data.get("acr"),
            amr=tuple(data.get("amr", ())),
            sid=data.get("sid"),
            auth_time=data.get("auth_time"),
            claims=dict(data.get("claims", {})),
        )


def _local_path(candidate: str | None, fallback: str) -> str:
    """Only same-site paths: `next` must never become an open redirect."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
        return fallback
    parts = urlsplit(candidate)
    return candidate if not parts.scheme and not parts.netloc else fallback


ErrorHandler = Callable[[Request, PostIDError], Awaitable[Response]]


async def _default_error_page(request: Request, error: PostIDError) -> Response:
    status = 403 if isinstance(error, (AuthorizationDenied, InsufficientAssurance)) else 400
    body = (
        '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Đăng nhập không thành công</title>'
        "<h1>Đăng nhập không thành công</h1>"
        f"<p>Mã lỗi: <code>{html.escape(error.code)}</code></p>"
        f'<p><a href="/">Về trang chủ</a></p></html>'
    )
    return Response(body, status_code=status, media_type="text/html")


class PostIDAuth:
    """The login routes, the session middleware and their shared configuration."""

    def __init__(
        self,
        client: AsyncPostIDClient,
        *,
        session_secret: str | bytes,
        scope: str = "openid profile",
        store: SessionStore | None = None,
        fetch_userinfo: bool = True,
        after_login_path: str = "/",
        after_logout_path: str = "/",
        post_logout_redirect_uri: str | None = None,
        secure_cookie: bool | None = None,
        cookie_name: str | None = None,
        session_lifetime: int = SESSION_LIFETIME,
        login_lifetime: int = LOGIN_LIFETIME,
        path_prefix: str = "",
        clock: Clock = system_clock,
        error_handler: ErrorHandler = _default_error_page,
    ) -> None:
        secret = session_secret.encode("utf-8") if isinstance(session_secret, str) else session_secret
        if len(secret) < 32:
            raise ConfigurationError("session_secret must be at least 32 bytes")
        redirect_uri = client.redirect_uri
        if not redirect_uri:
            raise ConfigurationError("the client needs a redirect_uri for the integration")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(redirect_uri))
        self.client = client
        self.scope = scope
        self.store: SessionStore = store if store is not None else InMemorySessionStore()
        self.fetch_userinfo = fetch_userinfo
        self.after_login_path = after_login_path
        self.after_logout_path = after_logout_path
        self.post_logout_redirect_uri = post_logout_redirect_uri or origin + after_logout_path
        self.secure_cookie = redirect_uri.startswith("https://") if secure_cookie is None else secure_cookie
        self.cookie_name = cookie_name or ("__Host-postid_session" if self.secure_cookie else "postid_session")
        self.session_lifetime = session_lifetime
        self.login_lifetime = login_lifetime
        self.prefix = path_prefix.rstrip("/")
        self.clock = clock
        self.error_handler = error_handler
        self._secret = secret

    # -- wiring ---------------------------------------------------------------------------------

    @property
    def login_path(self) -> str:
        return f"{self.prefix}/login"

    @property
    def routes(self) -> list[Route]:
        callback_path = urlsplit(self.client.redirect_uri or "").path or f"{self.prefix}/callback"
        return [
            Route(self.login_path, self.login, methods=["GET"]),
            Route(callback_path, self.callback, methods=["GET"]),
            Route(f"{self.prefix}/logout", self.logout, methods=["POST"]),
            Route(f"{self.prefix}/backchannel-logout", self.backchannel_logout, methods=["POST"]),
        ]

    @property
    def middleware(self) -> Middleware:
        return Middleware(_SessionMiddleware, auth=self)

    # -- sessions -------------------------------------------------------------------------------

    async def _session(self, connection: HTTPConnection) -> tuple[str | None, dict[str, Any]]:
        cookie = connection.cookies.get(self.cookie_name)
        session_id = unsign_session_id(cookie, self._secret) if cookie else None
        if session_id is None:
            return None, {}
        data = await self.store.load(session_id, self.clock())
        return (session_id, data) if data is not None else (None, {})

    async def _save(self, session_id: str | None, data: dict[str, Any], response: Response) -> str:
        now = self.clock()
        session_id = session_id or new_session_id()
        data.setdefault("expires_at", now + self.session_lifetime)
        await self.store.save(session_id, data, data["expires_at"])
        response.set_cookie(
            self.cookie_name,
            sign_session_id(session_id, self._secret),
            httponly=True,
            secure=self.secure_cookie,
            samesite="lax",  # the callback is a top-level GET from the provider: Lax sends it
            path="/",
        )
        return session_id

    async def user(self, connection: HTTPConnection) -> PostIDUser | None:
        _, data = await self._session(connection)
        user = data.get("user")
        return PostIDUser.from_dict(user) if isinstance(user, dict) else None

    # -- endpoints ------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """Start a login; `?acr_values=LoA2` asks for a level, `?next=/path` returns there."""
        acr_values = request.query_params.get("acr_values") or None
        if acr_values is not None and any(value not in self.client.levels for value in acr_values.split()):
            return Response("unknown acr_values", status_code=400)
        next_path = _local_path(request.query_params.get("next"), self.after_login_path)
        try:
            login = await self.client.start_login(scope=self.scope, acr_values=acr_values)
        except PostIDError as error:
            return await self.error_handler(request, error)
        session_id, data = await self._session(request)
        pending = dict(data.get("logins", {}))
        pending[login.state] = {"login": login.to_dict(), "next": next_path}
        data["logins"] = dict(list(pending.items())[-PENDING_LOGINS:])
        if not isinstance(data.get("user"), dict):  # nobody logged in: only as long as a login takes
            data["expires_at"] = self.clock() + self.login_lifetime
        response = RedirectResponse(login.url, status_code=302)
        response.headers["Cache-Control"] = "no-store"
        await self._save(session_id, data, response)
        return response

    async def callback(self, request: Request) -> Response:
        session_id, data = await self._session(request)
        pending = dict(data.get("logins", {}))
        entry = pending.pop(request.query_params.get("state", ""), None)
        if entry is None:  # no login of ours has this state: forged, replayed or expired
            return await self.error_handler(request, StateMismatch("no login of this browser has this state"))
        login = LoginRequest.from_dict(entry["login"])
        try:
            tokens = await self.client.finish_login(str(request.url), login)
            user = await self._user_from(tokens)
        except PostIDError as error:
            return await self.error_handler(request, error)
        if session_id is not None:  # a fresh id after login: no session fixation
            await self.store.delete(session_id)
        response = RedirectResponse(entry["next"], status_code=303)
        response.headers["Cache-Control"] = "no-store"
        await self._save(
            None,
            {"user": user.to_dict(), "id_token": tokens.id_token, "logins": pending},
            response,
        )
        return response

    async def _user_from(self, tokens: TokenSet) -> PostIDUser:
        claims = tokens.claims
        released = {name: value for name, value in claims.claims.items() if name not in _PROTOCOL_CLAIMS}
        if self.fetch_userinfo and set(self.scope.split()) - {"openid", "offline_access"}:
            released.update(await self.client.userinfo(tokens.access_token, expected_sub=claims.sub))
        return PostIDUser(
            sub=claims.sub, acr=claims.acr, amr=claims.amr, sid=claims.sid, auth_time=claims.auth_time, claims=released
        )

    async def logout(self, request: Request) -> Response:
        """End the portal session, then the provider's (RP-initiated logout) when possible."""
        session_id, data = await self._session(request)
        if session_id is not None:
            await self.store.delete(session_id)
        target = self.after_logout_path
        id_token = data.get("id_token")
        if id_token:
            try:
                target = await self.client.logout_url(
                    id_token_hint=id_token, post_logout_redirect_uri=self.post_logout_redirect_uri
                )
            except PostIDError:
                target = self.after_logout_path  # the provider has no end_session_endpoint or is down
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(self.cookie_name, path="/", secure=self.secure_cookie, httponly=True, samesite="lax")
        return response

    async def backchannel_logout(self, request: Request) -> Response:
        """The provider tells us a citizen's provider session ended: end ours too."""
        body = (await request.body()).decode("utf-8", "replace")
        token = dict(parse_qsl(body)).get("logout_token", "")
        headers = {"Cache-Control": "no-store"}
        try:
            logout = await self.client.validate_logout_token(token)
        except PostIDError as error:
            return JSONResponse(
                {"error": "invalid_request", "error_description": error.code}, status_code=400, headers=headers
            )
        await self.store.delete_matching(sub=logout.sub, sid=logout.sid)
        return Response(status_code=200, headers=headers)


class _SessionMiddleware:
    """Puts the session's citizen on `request.state.user` (None when nobody is logged in)."""

    def __init__(self, app: ASGIApp, auth: PostIDAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            user = await self.auth.user(HTTPConnection(scope))
            scope.setdefault("state", {})["user"] = user
            scope["state"]["postid"] = self.auth
        await self.app(scope, receive, send)


def requires_level(level: str | None) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: without a session, or below `level`, send the citizen to log in
    (asking the provider for `level`) and come back here afterwards."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Any:
            user: PostIDUser | None = getattr(request.state, "user", None)
            auth: PostIDAuth | None = getattr(request.state, "postid", None)
            if auth is None:
                raise ConfigurationError("add PostIDAuth.middleware to the app")
            if user is None or (level is not None and not user.has_level(level, auth.client.levels)):
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                params = {"next": here, **({"acr_values": level} if level else {})}
                return RedirectResponse(f"{auth.login_path}?{urlencode(params)}", status_code=303)
            result = endpoint(request)
            return await result if inspect.isawaitable(result) else result

        # The same request in, a response out, the endpoint's name kept: what routing needs of an Endpoint.
        return cast(Endpoint, guarded)

    return decorate


requires_login = requires_level(None)
"""Guard an endpoint that needs a logged-in citizen at any level."""
