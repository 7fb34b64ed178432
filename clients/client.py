"""The synchronous client: drives the shared flows over an `httpx.Client`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import httpx

from ._core import ClientCore, Flow
from ._options import build_core
from .authorization import LoginRequest
from .client_auth import ClientAuth
from .defaults import HTTP_TIMEOUT
from .errors import ProviderUnavailable
from .logout_token import LogoutToken
from .metadata import ProviderMetadata
from .tokens import TokenSet

__all__ = ["PostIDClient"]

T = TypeVar("T")


def drive(flow: Flow[T], http: httpx.Client) -> T:
    """Run a flow to completion, sending each request it yields; network failures go back into
    the flow as `ProviderUnavailable` so it can fall back (e.g. to stale discovery)."""
    try:
        request = next(flow)
        while True:
            try:
                response = http.send(request, follow_redirects=False)
            except httpx.TransportError as exc:
                request = flow.throw(ProviderUnavailable(f"{request.url}: {type(exc).__name__}: {exc}"))
            else:
                request = flow.send(response)
    except StopIteration as finished:
        # StopIteration carries Any; a Flow[T] finishes with a T.
        return cast(T, finished.value)


class PostIDClient:
    """A portal's connection to the PostID provider (blocking I/O).

    >>> client = PostIDClient("https://id.example.vn", "portal", client_secret="…",
    ...                       redirect_uri="https://portal.example.vn/callback")
    >>> login = client.start_login(scope="openid profile")     # store login.to_dict(), redirect to login.url
    >>> tokens = client.finish_login(request_url, login)        # on /callback
    >>> tokens.claims.sub, tokens.claims.acr

    Pass `http_client` to control proxies or tests (`httpx.MockTransport`); without it the client
    owns an `httpx.Client` with TLS verification on, no redirects followed, and a timeout.
    Every keyword of `ClientCore` is accepted: `redirect_uri`, `post_logout_redirect_uri`,
    `required_acr`, `leeway`, `clock`, `entropy`, `replay_cache`, `jwks_lifespan`,
    `jwks_refetch_interval`, `login_lifetime`, `logout_token_max_age`, `levels`.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        auth: ClientAuth | None = None,
        client_secret: str | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = HTTP_TIMEOUT,
        **options: Any,
    ) -> None:
        self._core: ClientCore = build_core(issuer, client_id, auth, client_secret, options)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, verify=True, follow_redirects=False)

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
    def levels(self) -> tuple[str, ...]:
        """The assurance levels this client knows, lowest first."""
        return self._core.levels

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> PostIDClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def provider_metadata(self) -> ProviderMetadata:
        """Discovery, cached for its `max-age` and served stale while the provider is down."""
        return drive(self._core.discover(), self._http)

    def start_login(self, **options: Any) -> LoginRequest:
        """Build the authorization URL (code flow, PKCE S256, fresh state and nonce).

        Options: `scope`, `acr_values`, `required_acr`, `max_age`, `prompt`, `login_hint`,
        `ui_locales`, `redirect_uri`, `extra`. Store the result until the callback."""
        return drive(self._core.start_login(**options), self._http)

    def finish_login(self, callback: str | Mapping[str, str], login: LoginRequest) -> TokenSet:
        """Check the callback (state, iss, error), exchange the code, validate the ID token."""
        return drive(self._core.finish_login(callback, login), self._http)

    def userinfo(self, access_token: str, *, expected_sub: str) -> dict[str, Any]:
        return drive(self._core.userinfo(access_token, expected_sub=expected_sub), self._http)

    def refresh(self, refresh_token: str, *, subject: str | None = None, scope: str | None = None) -> TokenSet:
        """Use (and rotate) a refresh token; a returned ID token must name `subject`."""
        return drive(self._core.refresh(refresh_token, subject=subject, scope=scope), self._http)

    def revoke(self, token: str, *, token_type_hint: str | None = None) -> None:
        drive(self._core.revoke(token, token_type_hint=token_type_hint), self._http)

    def logout_url(
        self,
        *,
        id_token_hint: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        ui_locales: str | None = None,
    ) -> str:
        """Where to send the browser for RP-initiated logout."""
        return drive(
            self._core.logout_url(
                id_token_hint=id_token_hint,
                post_logout_redirect_uri=post_logout_redirect_uri,
                state=state,
                ui_locales=ui_locales,
            ),
            self._http,
        )

    def validate_logout_token(self, logout_token: str) -> LogoutToken:
        """Validate a back-channel logout token; a second use of its `jti` is refused."""
        return drive(self._core.validate_logout_token(logout_token), self._http)
