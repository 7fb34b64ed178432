"""Log in with PostID in a Starlette app (needs the `starlette` extra).

    auth = PostIDAuth(AsyncPostIDClient(...), session_secret=...)
    app = Starlette(routes=[..., *auth.routes], middleware=[auth.middleware])

gives `/login`, `/callback`, `/logout` (POST), `/backchannel-logout` (POST), and
`request.state.user` (a `PostIDUser` or None) on every request. `requires_level("LoA2")` guards
an endpoint and steps the citizen up through the provider when their level is too low;
`requires_amr(any_of=PASSKEY_METHODS)` guards one by how the citizen logged in (a passkey), sending
them to log in afresh once and refusing the page (403) when that login did not use it either.

The token set stays server-side, in the session store: `await auth.access_token(request)` gives a
fresh access token (refreshed when due, one refresh at a time per session), `await
auth.request(request, "GET", url)` calls an API with it (DPoP proof included when the client was
built with `dpop=True`). Logging out revokes the refresh token.

`profile="fapi2"` states that the portal is a FAPI 2.0 one: the client must have been built with
`profile="fapi2"` (PAR, DPoP, `private_key_jwt`), else construction fails; a refresh answered
without a new refresh token keeps the old one (FAPI 2.0 §5.3.2.1-9: no rotation).
"""

from __future__ import annotations

import dataclasses
import functools
import html
import inspect
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import httpx
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .amr import AmrRequirement
from .async_client import AsyncPostIDClient
from .authorization import LoginRequest
from .clock import Clock, system_clock
from .defaults import ASSURANCE_LEVELS, LOGIN_LIFETIME, REFRESH_MARGIN
from .dpop import DPoPKey
from .errors import (
    AuthorizationDenied,
    ConfigurationError,
    InsufficientAssurance,
    OAuthError,
    PostIDError,
    ProviderUnavailable,
    StateMismatch,
    UnmetAuthenticationMethods,
)
from .fapi import Profile, check_profile
from .levels import meets_level
from .sessions import InMemorySessionStore, SessionStore, new_session_id, sign_session_id, unsign_session_id
from .tokens import TokenSet

__all__ = [
    "LOGINS_PER_ADDRESS",
    "LOGIN_LIFETIME",
    "SESSION_LIFETIME",
    "PostIDAuth",
    "PostIDUser",
    "default_error_page",
    "requires_amr",
    "requires_level",
    "requires_login",
]

SESSION_LIFETIME = 8 * 3600
"""Seconds a portal session lasts at most, whatever the activity (a working day)."""
PENDING_LOGINS = 5
"""Logins started and not finished kept per browser (several tabs), oldest dropped first."""
LOGINS_PER_ADDRESS = 30
"""Logins one client address may start per `login_lifetime` (15 min) before `/login` answers 429:
a person with several tabs and retries stays far below it, a script that leaves its cookies behind
hits it after 30 sessions instead of filling the store. Behind a proxy, pass `client_address`."""
_ADDRESSES_TRACKED = 100_000
"""Client addresses the login budget remembers at most (oldest forgotten first): bounded memory."""
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

    def has_amr(self, *, any_of: Iterable[str] = (), all_of: Iterable[str] = ()) -> bool:
        """Whether the login used every method of `all_of` and one of `any_of` (see `AmrRequirement`)."""
        return AmrRequirement(any_of=any_of, all_of=all_of).met_by(self.amr)

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
"""`async def handler(request, error) -> Response`: renders a failed login. `error.code` is the
SDK's reason (`authorization_denied`, `state_mismatch`, ...), `error.error` and
`error.error_description` what the provider said, if it said anything."""


def _status_for(error: PostIDError) -> int:
    if isinstance(error, (AuthorizationDenied, InsufficientAssurance, UnmetAuthenticationMethods)):
        return 403
    if isinstance(error, ProviderUnavailable):
        return 503
    return 400


_METHOD_WORDS: Mapping[str, tuple[str, str]] = {
    "hwk": ("khóa truy cập (passkey) gắn với thiết bị", "a device-bound passkey"),
    "swk": ("khóa truy cập (passkey) đồng bộ", "a synced passkey"),
    "mfa": ("xác thực hai yếu tố", "two-factor authentication"),
    "pwd": ("mật khẩu", "a password"),
    "otp": ("mã từ ứng dụng xác thực", "an authenticator-app code"),
    "sms": ("mã SMS", "an SMS code"),
    "user": ("xác nhận trên thiết bị", "presence on the device"),
}
"""What a citizen reads for a method on the refusal page; other RFC 8176 values show as their code."""


def _in_words(methods: Iterable[str], lang: int) -> str:
    return ", ".join(_METHOD_WORDS.get(method, (method, method))[lang] for method in sorted(methods))


def _methods_explained(error: UnmetAuthenticationMethods) -> str:
    """What the page needs and what the login used, in both languages, and a way to try again."""
    required = error.required
    parts = []
    for lang, needs, either, both, used_label in (
        (0, "Trang này yêu cầu đăng nhập bằng", "hoặc", "và", "Bạn đã đăng nhập bằng"),
        (1, "This page needs a login with", "or", "and", "You logged in with"),
    ):
        wanted = [_in_words(required.all_of, lang)] if required.all_of else []
        if required.any_of:
            wanted.append(f" {either} ".join(_METHOD_WORDS.get(m, (m, m))[lang] for m in sorted(required.any_of)))
        attribute = ' lang="en"' if lang else ""
        parts.append(
            f"<p{attribute}>{needs}: <strong>{html.escape(f' {both} '.join(wanted))}</strong>. "
            f"{used_label}: {html.escape(_in_words(error.used, lang) or '-')}.</p>"
        )
    parts.append(f'<p>Cần / Required: <code id="required">{html.escape(required.describe())}</code></p>')
    if error.retry_url:
        parts.append(
            f'<p><a id="retry" href="{html.escape(error.retry_url)}">Đăng nhập lại</a> · '
            f'<a href="{html.escape(error.retry_url)}" lang="en">Log in again</a></p>'
        )
    return "".join(parts)


async def default_error_page(request: Request, error: PostIDError) -> Response:
    """A page in Vietnamese and English with the SDK's code and, when the provider gave one, its
    own reason (e.g. that the identity is not verified to LoA2): the citizen can act on it. A page
    refused for the methods used says which ones it needs and offers a fresh login."""
    methods = isinstance(error, UnmetAuthenticationMethods)
    heading, heading_en = (
        ("Trang này cần một cách đăng nhập khác", "This page needs another way of logging in")
        if methods
        else ("Đăng nhập không thành công", "Login failed")
    )
    reason = _methods_explained(error) if isinstance(error, UnmetAuthenticationMethods) else ""
    if error.error_description:
        described = html.escape(error.error_description)
        reason += f'<p id="reason">Lý do / Reason: {described}</p>'
    provider_code = f" (<code>{html.escape(error.error)}</code>)" if error.error else ""
    body = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{heading}</title></head><body>"
        f"<h1>{heading}</h1>"
        f'<p lang="en">{heading_en}</p>'
        f"{reason}"
        f'<p>Mã lỗi / Error code: <code id="code">{html.escape(error.code)}</code>{provider_code}</p>'
        '<p><a href="/">Về trang chủ</a> · <a href="/" lang="en">Home</a></p></body></html>'
    )
    return Response(body, status_code=_status_for(error), media_type="text/html", headers={"Cache-Control": "no-store"})


def _tokens_to_dict(tokens: TokenSet) -> dict[str, Any]:
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": tokens.token_type,
        "expires_at": tokens.expires_at,
        "scope": tokens.scope,
        "subject": tokens.subject,
        "dpop_key": tokens.dpop_key.to_dict() if tokens.dpop_key is not None else None,
    }


def _tokens_from_dict(data: Mapping[str, Any]) -> TokenSet:
    key = data.get("dpop_key")
    return TokenSet(
        access_token=str(data["access_token"]),
        token_type=str(data.get("token_type", "Bearer")),
        expires_at=data.get("expires_at"),
        scope=data.get("scope"),
        refresh_token=data.get("refresh_token"),
        subject=data.get("subject"),
        dpop_key=DPoPKey.from_dict(key) if isinstance(key, dict) else None,
    )


def _peer_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


class _LoginBudget:
    """Logins started per client address within a sliding window, in this process."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._starts: OrderedDict[str, deque[float]] = OrderedDict()

    def spend(self, address: str, now: float) -> bool:
        starts = self._starts.pop(address, None) or deque()
        while starts and starts[0] <= now - self.window:
            starts.popleft()
        allowed = len(starts) < self.limit
        if allowed:
            starts.append(now)
        self._starts[address] = starts  # most recent last
        while len(self._starts) > _ADDRESSES_TRACKED:
            self._starts.popitem(last=False)
        return allowed


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
        logins_per_address: int | None = LOGINS_PER_ADDRESS,
        client_address: Callable[[HTTPConnection], str] = _peer_address,
        refresh_margin: float = REFRESH_MARGIN,
        revoke_on_logout: bool = True,
        path_prefix: str = "",
        clock: Clock = system_clock,
        error_handler: ErrorHandler = default_error_page,
        profile: Profile | None = None,
    ) -> None:
        if profile is not None and check_profile(profile) != client.profile:
            raise ConfigurationError(
                f"PostIDAuth(profile={profile!r}) needs a client built with profile={profile!r}, "
                f"this one is {client.profile!r}"
            )
        secret = session_secret.encode("utf-8") if isinstance(session_secret, str) else session_secret
        if len(secret) < 32:
            raise ConfigurationError("session_secret must be at least 32 bytes")
        redirect_uri = client.redirect_uri
        if not redirect_uri:
            raise ConfigurationError("the client needs a redirect_uri for the integration")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(redirect_uri))
        self.client = client
        self.profile: Profile = client.profile
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
        self.refresh_margin = refresh_margin
        self.revoke_on_logout = revoke_on_logout
        self.client_address = client_address
        self._budget = _LoginBudget(logins_per_address, login_lifetime) if logins_per_address else None
        self._refreshing: dict[str, anyio.Lock] = {}
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
        return _user_of(data)

    # -- endpoints ------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """Start a login; `?acr_values=LoA2` asks for a level, `?next=/path` returns there,
        `?prompt=login` asks the provider for a fresh login even when the citizen has a session
        there (the session then remembers that this login was made for `next`: `requires_amr`)."""
        acr_values = request.query_params.get("acr_values") or None
        if acr_values is not None and any(value not in self.client.levels for value in acr_values.split()):
            return Response("unknown acr_values", status_code=400)
        prompt = request.query_params.get("prompt") or None
        if prompt not in (None, "login"):
            return Response("prompt may only be login", status_code=400)
        next_path = _local_path(request.query_params.get("next"), self.after_login_path)
        if self._budget is not None and not self._budget.spend(self.client_address(request), time.monotonic()):
            return Response(
                "too many logins started from this address; try again later",
                status_code=429,
                headers={"Retry-After": str(int(self.login_lifetime)), "Cache-Control": "no-store"},
            )
        try:
            login = await self.client.start_login(scope=self.scope, acr_values=acr_values, prompt=prompt)
        except PostIDError as error:
            return await self.error_handler(request, error)
        session_id, data = await self._session(request)
        pending = dict(data.get("logins", {}))
        pending[login.state] = {"login": login.to_dict(), "next": next_path, "fresh": prompt == "login"}
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
        session = {
            "user": user.to_dict(),
            "id_token": tokens.id_token,
            "tokens": _tokens_to_dict(tokens),
            "logins": pending,
        }
        if entry.get("fresh"):
            session["fresh_login_for"] = entry["next"]
        await self._save(None, session, response)
        return response

    async def _user_from(self, tokens: TokenSet) -> PostIDUser:
        claims = tokens.claims
        released = {name: value for name, value in claims.claims.items() if name not in _PROTOCOL_CLAIMS}
        if self.fetch_userinfo and set(self.scope.split()) - {"openid", "offline_access"}:
            released.update(await self.client.userinfo(tokens, expected_sub=claims.sub))
        return PostIDUser(
            sub=claims.sub, acr=claims.acr, amr=claims.amr, sid=claims.sid, auth_time=claims.auth_time, claims=released
        )

    # -- tokens for APIs ---------------------------------------------------------------------------

    async def token_set(self, connection: HTTPConnection) -> TokenSet | None:
        """The session's tokens, refreshed first when the access token expires within
        `refresh_margin`. None without a logged-in session, or when the provider refused the
        refresh (the grant was revoked: the session is ended, the citizen must log in again)."""
        session_id, data = await self._session(connection)
        stored = data.get("tokens")
        if session_id is None or not isinstance(stored, dict):
            return None
        tokens = _tokens_from_dict(stored)
        if tokens.refresh_token is None or not tokens.expires_within(self.refresh_margin, self.clock()):
            return tokens
        lock = self._refreshing.setdefault(session_id, anyio.Lock())
        try:
            async with lock:  # one refresh in flight per session: a rotated token works once
                return await self._refresh_locked(session_id)
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._refreshing.pop(session_id, None)

    async def _refresh_locked(self, session_id: str) -> TokenSet | None:
        data = await self.store.load(session_id, self.clock())  # another request may have refreshed
        stored = data.get("tokens") if data is not None else None
        if data is None or not isinstance(stored, dict):
            return None
        tokens = _tokens_from_dict(stored)
        if not tokens.expires_within(self.refresh_margin, self.clock()):
            return tokens
        user = data.get("user")
        subject = user.get("sub") if isinstance(user, dict) else None
        try:
            refreshed = await self.client.refresh(_with_subject(tokens, subject))
        except OAuthError as error:
            if error.error in ("invalid_grant", "invalid_token"):
                await self.store.delete(session_id)
                return None
            raise
        data["tokens"] = _tokens_to_dict(refreshed)
        if refreshed.id_token is not None:
            data["id_token"] = refreshed.id_token
        await self.store.save(session_id, data, data["expires_at"])
        return refreshed

    async def access_token(self, connection: HTTPConnection) -> str | None:
        """A fresh access token for the logged-in citizen (see `token_set`)."""
        tokens = await self.token_set(connection)
        return tokens.access_token if tokens is not None else None

    async def request(
        self,
        connection: HTTPConnection,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response | None:
        """Call an API as the citizen: Bearer, or DPoP with a proof by the session's key. None
        when nobody is logged in or the session's grant is gone."""
        tokens = await self.token_set(connection)
        if tokens is None:
            return None
        return await self.client.request(tokens, method, url, headers=headers, content=content)

    # -- logout ---------------------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        """Revoke the refresh token, end the portal session, then the provider's (RP-initiated
        logout) when possible."""
        session_id, data = await self._session(request)
        stored = data.get("tokens")
        if self.revoke_on_logout and isinstance(stored, dict) and stored.get("refresh_token"):
            try:
                await self.client.revoke(str(stored["refresh_token"]), token_type_hint="refresh_token")
            except PostIDError:
                pass  # the session ends anyway; the token dies with its absolute lifetime
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


def _user_of(data: Mapping[str, Any]) -> PostIDUser | None:
    user = data.get("user")
    return PostIDUser.from_dict(user) if isinstance(user, dict) else None


def _with_subject(tokens: TokenSet, subject: object) -> TokenSet:
    """The session's citizen is the authority on `sub`, whatever the stored token set says."""
    return dataclasses.replace(tokens, subject=subject if isinstance(subject, str) else tokens.subject)


class _SessionMiddleware:
    """Puts the session's citizen on `request.state.user` (None when nobody is logged in)."""

    def __init__(self, app: ASGIApp, auth: PostIDAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            _, data = await self.auth._session(HTTPConnection(scope))
            scope.setdefault("state", {})["user"] = _user_of(data)
            scope["state"]["postid"] = self.auth
            fresh_for = data.get("fresh_login_for")
            scope["state"]["postid_fresh_login_for"] = fresh_for if isinstance(fresh_for, str) else None
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


def requires_amr(
    *, any_of: Iterable[str] = (), all_of: Iterable[str] = (), level: str | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint by how the citizen logged in (RFC 8176 `amr`): every method of `all_of`
    and one of `any_of`, e.g. `requires_amr(any_of=PASSKEY_METHODS)` for a phishing-resistant page,
    and the level `level` when given.

    The provider cannot be asked for a method (it supports neither the `claims` parameter nor an
    `acr_values` per method), so a citizen without such a login is sent to log in afresh
    (`prompt=login`, plus `acr_values=level` when given) and back here; its login page offers the
    passkey. When the login made for this page still does not meet the requirement, the page is
    refused with `UnmetAuthenticationMethods` (403 through the error handler, with a link to try
    again) rather than sending the citizen round once more: never a redirect loop.
    """
    requirement = AmrRequirement(any_of=any_of, all_of=all_of)

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Any:
            user: PostIDUser | None = getattr(request.state, "user", None)
            auth: PostIDAuth | None = getattr(request.state, "postid", None)
            if auth is None:
                raise ConfigurationError("add PostIDAuth.middleware to the app")
            met = (
                user is not None
                and requirement.met_by(user.amr)
                and (level is None or user.has_level(level, auth.client.levels))
            )
            if not met:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                params = {"next": here, "prompt": "login", **({"acr_values": level} if level else {})}
                retry = f"{auth.login_path}?{urlencode(params)}"
                if user is not None and getattr(request.state, "postid_fresh_login_for", None) == here:
                    refused = UnmetAuthenticationMethods(
                        f"the login made for {here} used {' '.join(user.amr) or 'nothing'}, "
                        f"this page needs {requirement.describe()}"
                        + (f" at {level} (the login reached {user.acr})" if level else ""),
                        required=requirement,
                        used=user.amr,
                        retry_url=retry,
                    )
                    return await auth.error_handler(request, refused)
                return RedirectResponse(retry, status_code=303)
            result = endpoint(request)
            return await result if inspect.isawaitable(result) else result

        return cast(Endpoint, guarded)

    return decorate
