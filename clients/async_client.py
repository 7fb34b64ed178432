"""The asynchronous client: drives the same flows over an `httpx.AsyncClient`."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast, overload

import anyio
import anyio.to_thread
import httpx

from ._core import ClientCore, Flow, refresh_inputs
from ._options import build_core
from ._settings import ClientSettings
from .authorization import LoginRequest
from .client_auth import ClientAuth
from .clock import Clock, system_clock
from .defaults import (
    ASSURANCE_LEVELS,
    HTTP_TIMEOUT,
    JWKS_DEFAULT_MAX_AGE,
    JWKS_MAX_AGE_BOUNDS,
    JWKS_REFETCH_COOLDOWN,
    LEEWAY,
    LOGIN_LIFETIME,
    LOGOUT_TOKEN_MAX_AGE,
)
from .errors import ProviderUnavailable
from .fapi import Profile
from .logout_token import InMemoryReplayCache, LogoutToken, ReplayCache, remember_jti
from .metadata import ProviderMetadata
from .tokens import Introspection, TokenSet

__all__ = ["AsyncPostIDClient"]

T = TypeVar("T")


async def drive(flow: Flow[T], http: httpx.AsyncClient) -> T:
    """Run a flow to completion, sending each request it yields; network failures go back into
    the flow as `ProviderUnavailable` so it can fall back (e.g. to stale discovery)."""
    try:
        request = next(flow)
        while True:
            try:
                response = await http.send(request, follow_redirects=False)
                await response.aread()
            except httpx.TransportError as exc:
                request = flow.throw(ProviderUnavailable(f"{request.url}: {type(exc).__name__}: {exc}"))
            else:
                request = flow.send(response)
    except StopIteration as finished:
        # StopIteration carries Any; a Flow[T] finishes with a T.
        return cast(T, finished.value)


class AsyncPostIDClient:
    """A portal's connection to the PostID provider, for asyncio (Starlette, FastAPI).

    >>> client = AsyncPostIDClient("https://id.example.vn", "portal", client_secret="…",
    ...                            redirect_uri="https://portal.example.vn/callback")
    >>> login = await client.start_login(scope="openid profile")   # keep login server-side, redirect
    >>> tokens = await client.finish_login(request_url, login)      # on /callback
    >>> tokens.claims.sub, tokens.claims.acr

    Pass `http_client` to control proxies or tests (`httpx.MockTransport`); without it the client
    owns an `httpx.AsyncClient` with TLS verification on, no redirects followed, and a timeout.
    `dpop=True` binds every token to a fresh key per login (RFC 9449); `par=True` pushes each
    authorization request first (RFC 9126). `profile="fapi2"` is the FAPI 2.0 Security Profile for
    a portal registered `--profile fapi2`: PAR and DPoP on, `auth=PrivateKeyJwt(...)` required
    (refused at construction otherwise), PS256/ES256/EdDSA only. Every other keyword is documented
    in the README.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        auth: ClientAuth | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        post_logout_redirect_uri: str | None = None,
        required_acr: str | None = None,
        dpop: bool = False,
        par: bool = False,
        profile: Profile = "standard",
        http_client: httpx.AsyncClient | None = None,
        timeout: float = HTTP_TIMEOUT,
        replay_cache: ReplayCache | None = None,
        levels: Sequence[str] = ASSURANCE_LEVELS,
        leeway: int = LEEWAY,
        clock: Clock = system_clock,
        entropy: Callable[[int], bytes] = secrets.token_bytes,
        jwks_default_max_age: float = JWKS_DEFAULT_MAX_AGE,
        jwks_max_age_bounds: tuple[float, float] = JWKS_MAX_AGE_BOUNDS,
        jwks_refetch_cooldown: float = JWKS_REFETCH_COOLDOWN,
        login_lifetime: float = LOGIN_LIFETIME,
        logout_token_max_age: int = LOGOUT_TOKEN_MAX_AGE,
    ) -> None:
        settings = ClientSettings(
            redirect_uri=redirect_uri,
            post_logout_redirect_uri=post_logout_redirect_uri,
            required_acr=required_acr,
            levels=levels,
            leeway=leeway,
            clock=clock,
            entropy=entropy,
            replay_cache=replay_cache if replay_cache is not None else InMemoryReplayCache(),
            dpop=dpop,
            par=par,
            jwks_default_max_age=jwks_default_max_age,
            jwks_max_age_bounds=jwks_max_age_bounds,
            jwks_refetch_cooldown=jwks_refetch_cooldown,
            login_lifetime=login_lifetime,
            logout_token_max_age=logout_token_max_age,
            profile=profile,
        )
        self._core: ClientCore = build_core(issuer, client_id, auth, client_secret, settings)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout, verify=True, follow_redirects=False)

    @property
    def issuer(self) -> str:
        return self._core.issuer

    @property
    def client_id(self) -> str:
        return self._core.client_id

    @property
    def redirect_uri(self) -> str | None:
        return self._core.redirect_uri

    @property
    def profile(self) -> Profile:
        """`"fapi2"` for a FAPI 2.0 client, `"standard"` otherwise."""
        return self._core.settings.profile

    @property
    def levels(self) -> tuple[str, ...]:
        """The assurance levels this client knows, lowest first."""
        return self._core.levels

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPostIDClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def provider_metadata(self) -> ProviderMetadata:
        """Discovery, cached for its `max-age` and served stale while the provider is down."""
        return await drive(self._core.discover(), self._http)

    async def start_login(
        self,
        *,
        scope: str | Sequence[str] = "openid",
        acr_values: str | Sequence[str] | None = None,
        required_acr: str | None = None,
        max_age: int | None = None,
        prompt: str | Sequence[str] | None = None,
        login_hint: str | None = None,
        ui_locales: str | Sequence[str] | None = None,
        redirect_uri: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> LoginRequest:
        """Build the authorization URL (code flow, PKCE S256, fresh state and nonce; pushed first
        with `par=True`, bound to a new DPoP key with `dpop=True`). Keep the result server-side
        until the callback: with DPoP it holds the private key."""
        return await drive(
            self._core.start_login(
                scope=scope,
                acr_values=acr_values,
                required_acr=required_acr,
                max_age=max_age,
                prompt=prompt,
                login_hint=login_hint,
                ui_locales=ui_locales,
                redirect_uri=redirect_uri,
                extra=extra,
            ),
            self._http,
        )

    async def finish_login(self, callback: str | Mapping[str, str], login: LoginRequest) -> TokenSet:
        """Check the callback (state, iss, error), exchange the code, validate the ID token."""
        return await drive(self._core.finish_login(callback, login), self._http)

    async def userinfo(self, tokens: TokenSet | str, *, expected_sub: str) -> dict[str, Any]:
        """The citizen's claims; `tokens` may be a bare Bearer access token."""
        return await drive(self._core.userinfo(tokens, expected_sub=expected_sub), self._http)

    @overload
    async def refresh(self, tokens: TokenSet, *, scope: str | None = None) -> TokenSet: ...

    @overload
    async def refresh(self, tokens: str, *, subject: str, scope: str | None = None) -> TokenSet: ...

    async def refresh(
        self, tokens: TokenSet | str, *, subject: str | None = None, scope: str | None = None
    ) -> TokenSet:
        """Use (and rotate) a refresh token. A returned ID token must name the same citizen: the
        token set's `subject`, or `subject=` with a bare refresh token."""
        refresh_token, subject, dpop_key = refresh_inputs(tokens, subject)
        return await drive(
            self._core.refresh(refresh_token, subject=subject, scope=scope, dpop_key=dpop_key), self._http
        )

    async def client_credentials(self, *, scope: str | Sequence[str] | None = None) -> TokenSet:
        """A token for the portal itself (RFC 6749 §4.4), DPoP-bound with `dpop=True`."""
        return await drive(self._core.client_credentials(scope=scope), self._http)

    async def introspect(self, token: str, *, token_type_hint: str | None = None) -> Introspection:
        """Ask the provider whether a token is live (RFC 7662): for an API this portal serves."""
        return await drive(self._core.introspect(token, token_type_hint=token_type_hint), self._http)

    async def request(
        self,
        tokens: TokenSet,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Call an API with the access token (with a DPoP proof and the API's nonce when bound)."""
        return await drive(
            self._core.resource_request(tokens, method, url, headers=headers, content=content), self._http
        )

    def authorization_headers(self, tokens: TokenSet, method: str, url: str) -> dict[str, str]:
        """`Authorization` (and `DPoP`) headers for one request sent with another HTTP library."""
        return self._core.authorization_headers(tokens, method, url)

    async def revoke(self, token: str, *, token_type_hint: str | None = None) -> None:
        await drive(self._core.revoke(token, token_type_hint=token_type_hint), self._http)

    async def logout_url(
        self,
        *,
        id_token_hint: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        ui_locales: str | None = None,
    ) -> str:
        """Where to send the browser for RP-initiated logout."""
        return await drive(
            self._core.logout_url(
                id_token_hint=id_token_hint,
                post_logout_redirect_uri=post_logout_redirect_uri,
                state=state,
                ui_locales=ui_locales,
            ),
            self._http,
        )

    async def validate_logout_token(self, logout_token: str) -> LogoutToken:
        """Validate a back-channel logout token; a second use of its `jti` is refused."""
        logout = await drive(self._core.validate_logout_token(logout_token), self._http)
        core = self._core
        # The cache may wait on Redis or a database: off the event loop.
        await anyio.to_thread.run_sync(
            functools.partial(
                remember_jti,
                core.replay_cache,
                logout,
                now=core.clock(),
                leeway=core.leeway,
                max_age=core.logout_token_max_age,
            )
        )
        return logout
