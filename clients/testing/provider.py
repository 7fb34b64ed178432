"""An in-process PostID provider for portals' tests, in the spirit of Singpass MockPass and the
GOV.UK One Login simulator: real signatures, real PKCE, no database, auto-approved logins.

The protocol logic works on plain `MockRequest` values, so the same provider answers through an
httpx transport (sync or async SDK clients, no server), as an ASGI app, or on 127.0.0.1. It is as
strict as the real provider wherever a portal could otherwise pass its tests and fail in production
(PKCE S256, exact redirect URIs, client authentication, allowed scopes, single-use codes and PAR
request URIs, rotated refresh tokens, DPoP proofs and nonces, which claims ride in which token) and
lenient elsewhere (no consent page, no rate limits, subjects are the test citizen's `sub`).

This module holds the provider itself: its state, what a test calls to set it up, and the route
table; each endpoint lives in its own module (`authorize.py`, `par.py`, `token.py`, `userinfo.py`,
`introspect.py`, `revoke.py`, `logout.py`, `discovery.py`), taking the provider and a request.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt

from ..clock import Clock, system_clock
from ..logout_token import BACKCHANNEL_LOGOUT_EVENT
from .authorize import authorize
from .citizens import DEFAULT_CLIENT_SCOPES, LOGIN_METHODS, SAMPLE_CITIZENS, Citizen, LoginMethod
from .discovery import discovery, jwks
from .faults import AUTHORIZATION_ERRORS, Fault, FaultQueue
from .introspect import introspect
from .keys import KeyRing, KeyRotation
from .logout import deliver, end_session, rp_logout
from .messages import MockRequest, MockResponse, OAuthFailure, base_path
from .par import par
from .policy import AUTH_METHODS, JWKS_MAX_AGE, LOGOUT_TOKEN_LIFETIME
from .records import Delivery, Ledger, Pending, RegisteredClient
from .revoke import revoke
from .token import token
from .transport import MockTransport
from .userinfo import userinfo

__all__ = ["Delivery", "MockProvider", "MockRequest", "MockResponse", "MockTransport", "RegisteredClient"]

Endpoint = Callable[["MockProvider", MockRequest], MockResponse]

ROUTES: Mapping[str, Endpoint] = {
    "/.well-known/openid-configuration": discovery,
    "/jwks": jwks,
    "/authorize": authorize,
    "/par": par,
    "/token": token,
    "/userinfo": userinfo,
    "/introspect": introspect,
    "/revoke": revoke,
    "/logout": rp_logout,
}
"""Every endpoint the mock answers, at its path under the issuer (the control API `/mock/...` apart)."""


class MockProvider:
    """A complete, in-memory PostID provider for tests.

    >>> provider = MockProvider()
    >>> provider.register_client("portal", redirect_uris=["https://portal.test/callback"], client_secret="s3cret")
    >>> provider.login_as("citizen-lan")
    >>> client = PostIDClient(provider.issuer, "portal", client_secret="s3cret",
    ...                       http_client=httpx.Client(transport=provider.transport()))
    """

    def __init__(
        self,
        issuer: str = "https://mock.postid.test",
        *,
        citizens: Iterable[Citizen] = SAMPLE_CITIZENS,
        clock: Clock = system_clock,
        dpop_nonces: bool = True,
        jwks_max_age: int = JWKS_MAX_AGE,
        backchannel_client: httpx.Client | None = None,
        control_api: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.issuer = issuer
        self.clock = clock
        self.citizens: dict[str, Citizen] = {citizen.sub: citizen for citizen in citizens}
        self.clients: dict[str, RegisteredClient] = {}
        self.auto_login: str | None = None
        self.auto_login_method: LoginMethod | None = None
        self.ended_sessions: list[str] = []
        self.deliveries: list[Delivery] = []
        self.jwks_max_age = jwks_max_age
        self.control_api = control_api
        # RFC 9449 §8: the real provider always asks for its nonce; a test of a client that cannot
        # do nonces yet may turn it off.
        self.dpop_nonce: str | None = secrets.token_urlsafe(16) if dpop_nonces else None
        self._keys = KeyRing()
        self._ledger = Ledger()
        self._faults = FaultQueue()
        self._backchannel_client = backchannel_client
        self._sleep = sleep
        self._lock = threading.RLock()

    # -- set-up by the test -----------------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        *,
        redirect_uris: Sequence[str],
        client_secret: str | None = None,
        auth_method: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        post_logout_redirect_uris: Sequence[str] = (),
        backchannel_logout_uri: str | None = None,
        scopes: Sequence[str] = DEFAULT_CLIENT_SCOPES,
        require_par: bool = False,
        require_dpop: bool = False,
    ) -> RegisteredClient:
        """Register a portal, as `idp clients add` would; the method defaults from what is given
        (secret → basic, JWKS → private_key_jwt, nothing → a public client). `scopes` are what it
        may ask for: add `citizen_id` and `national_profile` as an operator would (`--scope`)."""
        method = auth_method or ("private_key_jwt" if jwks else "client_secret_basic" if client_secret else "none")
        if method not in AUTH_METHODS:
            raise ValueError(f"unknown auth method {method!r}")
        client = RegisteredClient(
            client_id=client_id,
            redirect_uris=tuple(redirect_uris),
            auth_method=method,
            client_secret=client_secret,
            jwks=jwks,
            post_logout_redirect_uris=tuple(post_logout_redirect_uris),
            backchannel_logout_uri=backchannel_logout_uri,
            scopes=tuple(scopes),
            require_par=require_par,
            require_dpop=require_dpop,
        )
        with self._lock:
            self.clients[client_id] = client
        return client

    def add_citizen(self, citizen: Citizen) -> None:
        with self._lock:
            self.citizens[citizen.sub] = citizen

    def login_as(self, sub: str | None, *, method: LoginMethod | None = None) -> None:
        """Auto-approve every following authorization as this citizen (None: show the chooser).

        `method="passkey"` (or `"synced_passkey"`, `"password_and_passkey"`) makes those logins
        passkey logins, with the real provider's `amr` (`LOGIN_METHODS`: `hwk user mfa`, ...) and
        the account's own level (two factors: LoA2 for a verified citizen). Without it a login is
        the citizen's `amr` at their level, or a password at a lower level asked for."""
        if sub is not None and sub not in self.citizens:
            raise KeyError(f"no test citizen {sub!r}")
        if method is not None and method not in LOGIN_METHODS:
            raise ValueError(f"unknown login method {method!r}; one of {', '.join(LOGIN_METHODS)}")
        self.auto_login = sub
        self.auto_login_method = method

    def rotate_key(self) -> KeyRotation:
        """One rotation step, as `idp keys rotate`: the key published as next starts signing (the one
        that signed stays published), and a new next key is published. The first call only publishes,
        so a portal's cached JWKS already holds a key before anything is signed with it."""
        with self._lock:
            return self._keys.rotate()

    def retire_old_keys(self) -> None:
        """Stop publishing keys that no longer sign (the signing key and the next one stay)."""
        with self._lock:
            self._keys.retire_old_keys()

    @property
    def signing_kid(self) -> str:
        return self._keys.signing.kid

    @property
    def jwks(self) -> dict[str, Any]:
        return self._keys.jwks

    def fail_next(
        self,
        error: str | None = None,
        *,
        status: int | None = None,
        endpoint: str | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next request to `endpoint` fail. An authorization error (`access_denied`,
        `login_required`, ...) goes to the next `/authorize`, which sends it to the portal's callback
        with `state` and `iss`; another error code (`invalid_grant`) to the next `endpoint` as JSON;
        a bare `status=503` answers whatever request comes next (or the next one to `endpoint`)."""
        if error is None and status is None:
            raise ValueError("give an error code, a status, or both")
        if endpoint is None and error in AUTHORIZATION_ERRORS and status is None:
            endpoint = "/authorize"
        elif endpoint is None and error is not None and status is None:
            endpoint = "/token"
        with self._lock:
            self._faults.add(Fault(endpoint=endpoint, error=error, status=status, description=description))

    def delay_next(self, seconds: float, *, endpoint: str | None = None) -> None:
        """Answer the next request (to `endpoint`) only after `seconds`: a slow provider, for the
        portal's timeouts (they apply on a real connection: `serve()` or the standalone server)."""
        with self._lock:
            self._faults.add(Fault(endpoint=endpoint, delay=seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def logout(self, citizen: str, *, http_client: httpx.Client | None = None) -> list[Delivery]:
        """The citizen logs out at PostID: their session ends, its grants are revoked (refresh and
        access tokens die with them) and each portal that took part and registered a back-channel
        logout URI is POSTed a logout token naming the citizen and the session, as the real provider
        does. Returns what each portal answered. `http_client` reaches the portals (default: the
        provider's `backchannel_client`, or a plain `httpx.Client`): a Starlette `TestClient` of the
        portal's app works for an in-process portal."""
        with self._lock:
            session = self._ledger.sessions.get(citizen)
            if session is not None and not session.ended:
                end_session(self, session)
            pending, self._ledger.pending = self._ledger.pending, Pending()
        return deliver(self, pending, http_client)

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT") -> str:
        """Sign arbitrary claims with the signing key: for tests of how a portal handles odd tokens."""
        key = self._keys.signing
        return jwt.encode(dict(claims), key.private, algorithm="ES256", headers={"kid": key.kid, "typ": typ})

    def logout_token(
        self,
        client_id: str,
        *,
        sub: str | None = None,
        sid: str | None = None,
        issued_at: float | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A back-channel logout token, as the provider would POST it to the portal."""
        now = int(self.clock() if issued_at is None else issued_at)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_LIFETIME,
            "jti": secrets.token_urlsafe(16),
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        }
        if sub is not None:
            claims["sub"] = sub
        if sid is not None:
            claims["sid"] = sid
        claims.update(extra_claims or {})
        return self.sign(claims, typ="logout+jwt")

    # -- ways to reach it -------------------------------------------------------------------------

    def transport(self) -> MockTransport:
        """An httpx transport (sync and async) that answers every request from this provider."""
        return MockTransport(self)

    @property
    def app(self) -> Any:
        """The provider as an ASGI application."""
        from .asgi import asgi_app

        return asgi_app(self)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run on 127.0.0.1 in a thread (a free port unless given); the issuer becomes `http://127.0.0.1:PORT`."""
        from .server import serve_in_thread

        with serve_in_thread(self, host, port) as issuer:
            yield issuer

    def approve(self, authorization_url: str, citizen: str | None = None, *, method: LoginMethod | None = None) -> str:
        """Play the browser at `/authorize`: return where the provider redirects (the portal's
        callback with `code`, `state`, `iss`, or with `error`). `method` as for `login_as`."""
        parts = urlsplit(authorization_url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if citizen is not None:
            query["mock_citizen"] = citizen
        if method is not None:
            query["mock_method"] = method
        response = self.handle(MockRequest("GET", base_path(self.issuer) + "/authorize", query, {}, {}))
        if response.status not in (302, 303):
            raise AssertionError(f"/authorize answered {response.status}: {response.body.decode()[:300]}")
        return response.headers["location"]

    # -- the protocol -----------------------------------------------------------------------------

    def handle(self, request: MockRequest) -> MockResponse:
        """Answer one request. May block: for an injected delay, and while back-channel logout tokens
        are delivered (adapters call it off the event loop)."""
        base = base_path(self.issuer)
        path = request.path[len(base) :] if base and request.path.startswith(base) else request.path
        if path.startswith("/mock/") and self.control_api:
            from .control import handle_control

            return handle_control(self, path, request)
        endpoint = ROUTES.get(path)
        if endpoint is None:
            return MockResponse.json({"error": "not_found"}, 404)
        with self._lock:
            fault = self._faults.take(path)
        if fault is not None and fault.delay:
            self._sleep(fault.delay)
        if fault is not None and fault.status is not None and (fault.error is None or path != "/authorize"):
            return self._injected_answer(fault)
        try:
            with self._lock:
                self._injected = fault if fault is not None and fault.error is not None else None
                try:
                    return endpoint(self, request)
                finally:
                    self._injected = None
        except OAuthFailure as failure:
            headers = dict(failure.headers)
            if failure.status == 401 and failure.error == "invalid_client":
                headers["www-authenticate"] = f'Basic realm="{self.issuer}"'
            return MockResponse.json(
                {"error": failure.error, "error_description": failure.description}, failure.status, headers
            )
        finally:
            with self._lock:
                pending, self._ledger.pending = self._ledger.pending, Pending()
            if pending.items:
                deliver(self, pending, None)

    _injected: Fault | None = None  # an injected error the running endpoint reports itself (/authorize, /token)

    def _injected_answer(self, fault: Fault) -> MockResponse:
        status = fault.status or 400
        error = fault.error or ("temporarily_unavailable" if status == 503 else "server_error")
        return MockResponse.json(
            {"error": error, "error_description": fault.description or "injected by the mock provider"}, status
        )
