"""`create_app`: the route table, the middleware and the error handlers.

Every route the provider serves is listed here, so a reader sees the whole surface at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.chores import every
from idp.core.logout import renew_on_send
from idp.core.provider import Provider
from idp.delivery import OutboxWorker, senders_from_settings
from idp.housekeeping import Housekeeper
from idp.http import (
    account,
    authorize,
    counter,
    discovery,
    health,
    interaction,
    introspection,
    logout,
    par,
    privacy,
    reauth,
    register,
    reset,
    revocation,
    token,
    userinfo,
)
from idp.http.body_limit import BodyLimit
from idp.http.boundary import ErrorBoundary
from idp.http.headers import SCRIPT_PAGES, security_headers
from idp.http.offload import PasswordSlots
from idp.http.render import ERROR_HANDLERS
from idp.observability import Observability, counting_sender, flush_logs
from idp.runtime import TRIM_INTERVAL, collector_tuned_for_serving, give_back_free_memory
from idp.store.engine import SQLITE_CHECKPOINT_INTERVAL


class StaffConsole:
    """`idp.admin.router`, imported by the first request under /admin: the console and admin API (and
    their templates) are for staff, so a process serving citizens and portals starts without them."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from idp.admin import router

        await router(scope, receive, send)


def routes() -> list[Route | Mount]:
    return [
        # /.well-known/openid-configuration and /jwks: discovery.PublishedDocuments, ahead of the middleware
        # The portals' back channel first: the router tries each route in turn, and these take
        # most requests (no route below shares their paths).
        Route("/token", token.token, methods=["POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        # Operations: liveness, readiness (Prometheus listens apart: idp.http.metrics, IDP_METRICS_ADDRESS)
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/interaction/{interaction_id}", interaction.show, methods=["GET"]),
        Route("/interaction/{interaction_id}/login", interaction.login, methods=["POST"]),
        Route("/interaction/{interaction_id}/second-factor", interaction.second_factor, methods=["POST"]),
        Route("/interaction/{interaction_id}/consent", interaction.consent, methods=["POST"]),
        Route("/interaction/{interaction_id}/passkey", interaction.passkey, methods=["POST"]),
        Route("/revoke", revocation.revoke, methods=["POST"]),
        Route("/introspect", introspection.introspect, methods=["POST"]),
        Route("/par", par.push, methods=["POST"]),
        Route("/logout", logout.logout, methods=["GET", "POST"]),
        # Citizen self-service pages
        Route("/register", register.show, methods=["GET"]),
        Route("/register", register.submit, methods=["POST"]),
        Route("/register/{flow_id}", register.show_verify, methods=["GET"]),
        Route("/register/{flow_id}", register.verify, methods=["POST"]),
        Route("/counter/{flow_id}", counter.show, methods=["GET"]),
        Route("/counter/{flow_id}", counter.submit, methods=["POST"]),
        Route("/reset", reset.show, methods=["GET"]),
        Route("/reset", reset.submit, methods=["POST"]),
        Route("/reset/{flow_id}", reset.show_code, methods=["GET"]),
        Route("/reset/{flow_id}", reset.finish, methods=["POST"]),
        Route("/account", account.show, methods=["GET"]),
        Route("/account/totp", account.totp_begin, methods=["POST"]),
        Route("/account/totp/confirm", account.totp_confirm, methods=["POST"]),
        Route("/account/recovery-codes", account.recovery_codes, methods=["POST"]),
        Route("/account/passkeys/new", account.passkey_begin, methods=["POST"]),
        Route("/account/passkeys", account.passkey_enrol, methods=["POST"]),
        Route("/account/passkeys/remove", account.passkey_remove, methods=["POST"]),
        Route("/account/passkeys/rename", account.passkey_rename, methods=["POST"]),
        Route("/account/phone", account.phone_begin, methods=["POST"]),
        Route("/account/phone/confirm", account.phone_confirm, methods=["POST"]),
        Route("/account/connected/withdraw", account.withdraw, methods=["GET", "POST"]),
        Route("/account/reauth", reauth.reauthenticate, methods=["GET", "POST"]),
        Route("/account/reauth/passkey", reauth.reauthenticate_with_passkey, methods=["POST"]),
        Route("/account/password", reauth.change_password, methods=["GET", "POST"]),
        Route("/privacy", privacy.show, methods=["GET"]),
        # JSON API for apps
        Route("/api/registrations", register.api_register, methods=["POST"]),
        Route("/api/registrations/{flow_id}/verify", register.api_verify, methods=["POST"]),
        Route("/api/registrations/{flow_id}/resend", register.api_verify, methods=["POST"]),
        # Staff console and admin API: their own mount and guard (idp/admin)
        Mount("/admin", app=StaffConsole()),
        Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"),
    ]


class SecurityHeaders:
    """Adds `security_headers` to every response the routes give."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.headers = security_headers(hsts)
        self.script_headers = security_headers(hsts, script=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = str(scope.get("path", ""))
        headers = self.script_headers if path.startswith(SCRIPT_PAGES) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The outbox worker runs beside the app: requests only queue messages, it sends them."""
    provider: Provider = app.state.provider
    senders = {
        channel: counting_sender(channel, sender)
        for channel, sender in senders_from_settings(
            provider.settings, provider.clock, renew_logout_token=renew_on_send(provider)
        ).items()
    }
    worker = OutboxWorker.from_settings(provider.store.outbox, senders, provider.settings, provider.clock)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, poll_interval=2.0))
    # Operations: rotated keys reach this process; one process per interval prunes expired rows.
    chores = []
    if provider.settings.keys_rescan_interval:
        watch = discovery.KeyWatch(app.state, provider)
        chores.append(
            asyncio.create_task(
                every(stop, provider.settings.keys_rescan_interval, watch.check, what="checking the keys folder")
            )
        )
    chores.append(asyncio.create_task(every(stop, TRIM_INTERVAL, give_back_free_memory, what="returning freed memory")))
    if provider.store.db.is_sqlite:
        chores.append(
            asyncio.create_task(
                every(stop, SQLITE_CHECKPOINT_INTERVAL, provider.store.db.checkpoint, what="checkpointing SQLite's log")
            )
        )
    if interval := provider.settings.housekeeping_interval:
        # The first run after a random part of one interval, so processes started together spread out.
        chores.append(
            asyncio.create_task(
                every(
                    stop,
                    interval,
                    partial(app.state.housekeeper.run_if_leased, interval),
                    what="housekeeping",
                    first_after=random.uniform(1, max(interval, 1)),
                )
            )
        )
    provider.wake_outbox = worker.wake
    try:
        async with provider.store.db.serving():
            with collector_tuned_for_serving():
                yield
    finally:
        provider.wake_outbox = lambda: None
        stop.set()
        await task
        for chore in chores:
            await chore
        worker.close()
        app.state.password_slots.close()
        flush_logs()


def create_app(provider: Provider) -> Starlette:
    app = Starlette(routes=routes(), exception_handlers=ERROR_HANDLERS, lifespan=lifespan)
    app.state.provider = provider
    app.state.published = discovery.Published(provider)
    app.state.password_slots = PasswordSlots(provider.settings.password_workers)
    app.add_middleware(BodyLimit, max_bytes=provider.settings.max_body_bytes)  # before any parser, admin too
    app.add_middleware(ErrorBoundary, faults=provider.store.faults)  # inside Observability: ids, statuses
    app.add_middleware(SecurityHeaders, hsts=provider.settings.secure_cookies)
    app.state.housekeeper = Housekeeper(provider)
    app.add_middleware(Observability, access_log_enabled=provider.settings.access_log)  # sees every routed answer
    # Outermost: discovery and JWKS answered from precomputed bytes, before any other layer.
    app.add_middleware(discovery.PublishedDocuments)
    return app


def app_from_env() -> Starlette:
    """The factory `idp serve` hands uvicorn, so each worker process opens its own provider
    (engine, key ring) from the environment. `idp serve` has already run `init`."""
    from idp.bootstrap import open_provider
    from idp.files import keep_private
    from idp.settings import Settings

    keep_private()  # `uvicorn idp.app:app_from_env` may start a worker without `idp serve`
    return create_app(open_provider(Settings.from_env()))
