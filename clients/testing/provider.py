"""An in-process PostID provider for portals' tests, in the spirit of Singpass MockPass and the
GOV.UK One Login simulator: real signatures, real PKCE, no database, auto-approved logins.

The protocol logic works on plain `MockRequest` values, so the same provider answers through an
httpx transport (sync or async SDK clients, no server), as an ASGI app, or on 127.0.0.1. It is as
strict as the real provider wherever a portal could otherwise pass its tests and fail in production
(PKCE S256, exact redirect URIs, client authentication, allowed scopes, single-use codes and PAR
request URIs, rotated refresh tokens, DPoP proofs and nonces, which claims ride in which token) and
lenient elsewhere (no consent page, no rate limits, subjects are the test citizen's `sub`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import httpx
import jwt

from .._jose import left_half_hash
from ..clock import Clock, system_clock
from ..defaults import ASSURANCE_LEVELS
from ..logout_token import BACKCHANNEL_LOGOUT_EVENT
from .citizens import DEFAULT_CLIENT_SCOPES, SAMPLE_CITIZENS, SUPPORTED_SCOPES, Citizen
from .dpop_checks import ALGS as DPOP_ALGS
from .dpop_checks import ProofRefused, check_proof
from .faults import AUTHORIZATION_ERRORS, Fault, FaultQueue
from .keys import KeyRing, KeyRotation

__all__ = ["Delivery", "MockProvider", "MockRequest", "MockResponse", "MockTransport", "RegisteredClient"]

# The real provider's defaults (idp/settings.py, idp/core/policy.py), so expiry behaves alike.
CODE_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 300
ID_TOKEN_LIFETIME = 300
LOGOUT_TOKEN_LIFETIME = 120
PAR_LIFETIME = 60
GRANT_LIFETIME = 30 * 24 * 3600
JWKS_MAX_AGE = 300
LEEWAY = 60
REFRESH_GRACE = 10  # a client that lost a refresh response may retry once with the previous token
SCOPES = SUPPORTED_SCOPES
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
PAR_URN = "urn:ietf:params:oauth:request_uri:"
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_CLIENT_AUTH_FIELDS = ("client_secret", "client_assertion", "client_assertion_type")
_CITIZEN_SCOPES = frozenset(SUPPORTED_SCOPES)


@dataclass(frozen=True)
class MockRequest:
    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class MockResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> MockResponse:
        return cls(
            status,
            {"content-type": "application/json", "cache-control": "no-store", **(headers or {})},
            json.dumps(value, ensure_ascii=False).encode("utf-8"),
        )

    @classmethod
    def redirect(cls, location: str) -> MockResponse:
        return cls(303, {"location": location, "cache-control": "no-store"}, b"")

    @classmethod
    def page(cls, title: str, body_html: str, status: int = 200) -> MockResponse:
        document = (
            f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"</head><body><h1>{html.escape(title)}</h1>{body_html}</body></html>"
        )
        return cls(status, {"content-type": "text/html; charset=utf-8"}, document.encode("utf-8"))


@dataclass
class RegisteredClient:
    client_id: str
    redirect_uris: tuple[str, ...]
    auth_method: str = "client_secret_basic"
    client_secret: str | None = None
    jwks: Mapping[str, Any] | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    scopes: tuple[str, ...] = DEFAULT_CLIENT_SCOPES
    require_par: bool = False
    require_dpop: bool = False

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"


@dataclass(frozen=True)
class Delivery:
    """One back-channel logout token POSTed to a portal: `status` is its answer (None when it could
    not be reached, `error` then says why)."""

    client_id: str
    uri: str
    logout_token: str
    status: int | None
    error: str | None = None


@dataclass
class _Session:
    sid: str
    sub: str
    ended: bool = False


@dataclass
class _Grant:
    """One citizen's authorization of one portal, in one session: what codes, refresh and access
    tokens hang off, and what revocation and logout end."""

    id: str
    client_id: str
    citizen: Citizen
    scopes: tuple[str, ...]
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    sid: str
    expires_at: float
    revoked: bool = False
    dpop_jkt: str | None = None  # a public client's refresh tokens stay bound to its DPoP key


@dataclass
class _Code:
    grant: _Grant
    redirect_uri: str
    code_challenge: str
    expires_at: float
    nonce: str | None = None
    dpop_jkt: str | None = None


@dataclass
class _Refresh:
    grant: _Grant
    scope: str
    used_at: float | None = None
    replaced_by: str | None = None
    grace_used: bool = False

    @property
    def used(self) -> bool:
        return self.used_at is not None


@dataclass
class _Pushed:
    client_id: str
    params: dict[str, str]
    expires_at: float


class _OAuthFailure(Exception):
    def __init__(self, error: str, description: str, status: int = 400, headers: Mapping[str, str] | None = None):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.headers = dict(headers or {})


class _BearerFailure(Exception):
    def __init__(self, description: str, error: str = "invalid_token", dpop: bool = False) -> None:
        super().__init__(description)
        self.description, self.error, self.dpop = description, error, dpop


@dataclass
class _Pending:
    """Back-channel logout tokens to send once the provider's lock is released (the portal may call
    back, for the JWKS, while it reads one)."""

    items: list[tuple[RegisteredClient, str]] = field(default_factory=list)


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
        self.ended_sessions: list[str] = []
        self.deliveries: list[Delivery] = []
        self.jwks_max_age = jwks_max_age
        self.control_api = control_api
        # RFC 9449 §8: the real provider always asks for its nonce; a test of a client that cannot
        # do nonces yet may turn it off.
        self.dpop_nonce: str | None = secrets.token_urlsafe(16) if dpop_nonces else None
        self._keys = KeyRing()
        self._sessions: dict[str, _Session] = {}
        self._grants: dict[str, _Grant] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh_tokens: dict[str, _Refresh] = {}
        self._pushed: dict[str, _Pushed] = {}
        self._revoked_access: set[str] = set()
        self._used_assertions: set[str] = set()
        self._used_proofs: set[str] = set()
        self._faults = FaultQueue()
        self._pending = _Pending()
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

    def login_as(self, sub: str | None) -> None:
        """Auto-approve every following authorization as this citizen (None: show the chooser)."""
        if sub is not None and sub not in self.citizens:
            raise KeyError(f"no test citizen {sub!r}")
        self.auto_login = sub

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
            session = self._sessions.get(citizen)
            if session is not None and not session.ended:
                self._end_session(session)
            pending, self._pending = self._pending, _Pending()
        return self._deliver(pending, http_client)

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

    def approve(self, authorization_url: str, citizen: str | None = None) -> str:
        """Play the browser at `/authorize`: return where the provider redirects (the portal's
        callback with `code`, `state`, `iss`, or with `error`)."""
        parts = urlsplit(authorization_url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if citizen is not None:
            query["mock_citizen"] = citizen
        response = self.handle(MockRequest("GET", self._base_path() + "/authorize", query, {}, {}))
        if response.status not in (302, 303):
            raise AssertionError(f"/authorize answered {response.status}: {response.body.decode()[:300]}")
        return response.headers["location"]

    # -- the protocol -----------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.issuer.rstrip("/") + path

    def _base_path(self) -> str:
        return urlsplit(self.issuer).path.rstrip("/")

    def handle(self, request: MockRequest) -> MockResponse:
        """Answer one request. May block: for an injected delay, and while back-channel logout tokens
        are delivered (adapters call it off the event loop)."""
        base = self._base_path()
        path = request.path[len(base) :] if base and request.path.startswith(base) else request.path
        if path.startswith("/mock/") and self.control_api:
            from .control import handle_control

            return handle_control(self, path, request)
        routes: dict[str, Callable[[MockRequest], MockResponse]] = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/par": self._par,
            "/token": self._token,
            "/userinfo": self._userinfo,
            "/introspect": self._introspect,
            "/revoke": self._revoke,
            "/logout": self._end_session_endpoint,
        }
        endpoint = routes.get(path)
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
                    return endpoint(request)
                finally:
                    self._injected = None
        except _OAuthFailure as failure:
            headers = dict(failure.headers)
            if failure.status == 401 and failure.error == "invalid_client":
                headers["www-authenticate"] = f'Basic realm="{self.issuer}"'
            return MockResponse.json(
                {"error": failure.error, "error_description": failure.description}, failure.status, headers
            )
        finally:
            with self._lock:
                pending, self._pending = self._pending, _Pending()
            if pending.items:
                self._deliver(pending, None)

    _injected: Fault | None = None

    def _injected_answer(self, fault: Fault) -> MockResponse:
        status = fault.status or 400
        error = fault.error or ("temporarily_unavailable" if status == 503 else "server_error")
        return MockResponse.json(
            {"error": error, "error_description": fault.description or "injected by the mock provider"}, status
        )

    def _discovery(self, request: MockRequest) -> MockResponse:
        """The real provider's metadata (idp/http/discovery.py), pointing at the mock's endpoints."""
        methods = list(AUTH_METHODS)
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self._url("/authorize"),
            "token_endpoint": self._url("/token"),
            "userinfo_endpoint": self._url("/userinfo"),
            "jwks_uri": self._url("/jwks"),
            "revocation_endpoint": self._url("/revoke"),
            "introspection_endpoint": self._url("/introspect"),
            "end_session_endpoint": self._url("/logout"),
            "pushed_authorization_request_endpoint": self._url("/par"),
            "require_pushed_authorization_requests": False,
            "dpop_signing_alg_values_supported": list(DPOP_ALGS),
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "PS256", "EdDSA", "RS256"],
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["pairwise", "public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": [m for m in methods if m != "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": _all_claims(),
            "acr_values_supported": list(ASSURANCE_LEVELS),
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "ui_locales_supported": ["vi", "en"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        return MockResponse.json(document, headers={"cache-control": f"public, max-age={self.jwks_max_age}"})

    def _jwks(self, request: MockRequest) -> MockResponse:
        return MockResponse.json(
            self._keys.jwks,
            headers={
                "cache-control": f"public, max-age={self.jwks_max_age}",
                "content-type": "application/jwk-set+json",
            },
        )

    # /authorize and /par --------------------------------------------------------------------------

    def _check_authorization(self, client: RegisteredClient, query: Mapping[str, str]) -> tuple[str, ...]:
        """The real provider's checks, in its order; the granted scopes."""
        if query.get("response_type") != "code":
            raise _OAuthFailure("unsupported_response_type", "only the code flow is supported")
        if query.get("response_mode", "query") != "query":
            raise _OAuthFailure("invalid_request", "only response_mode=query is supported")
        scopes = tuple(dict.fromkeys(query.get("scope", "").split()))
        if "openid" not in scopes:
            raise _OAuthFailure("invalid_scope", "scope must include openid")
        if unknown := [scope for scope in scopes if scope not in SCOPES]:
            raise _OAuthFailure("invalid_scope", f"unknown scope {unknown[0]}")
        if refused := [scope for scope in scopes if scope not in client.scopes]:
            raise _OAuthFailure("invalid_scope", f"scope {refused[0]} is not allowed for this client")
        if not query.get("code_challenge"):
            raise _OAuthFailure("invalid_request", "code_challenge is required (PKCE with S256)")
        if query.get("code_challenge_method") != "S256":
            raise _OAuthFailure("invalid_request", "code_challenge_method must be S256")
        if any(level not in ASSURANCE_LEVELS for level in query.get("acr_values", "").split()):
            raise _OAuthFailure("invalid_request", "unknown acr_values")
        prompt = query.get("prompt", "").split()
        if unknown := [value for value in prompt if value not in ("none", "login", "consent", "select_account")]:
            raise _OAuthFailure("invalid_request", f"unsupported prompt value {unknown[0]}")
        if "none" in prompt and len(prompt) > 1:
            raise _OAuthFailure("invalid_request", "prompt=none must stand alone")
        jkt = query.get("dpop_jkt")
        if jkt is not None and (len(jkt) != 43 or not set(jkt) <= _B64URL):
            raise _OAuthFailure("invalid_request", "dpop_jkt is malformed")
        return scopes

    def _authorize(self, request: MockRequest) -> MockResponse:
        query: Mapping[str, str] = request.query
        pushed = False
        if "request_uri" in query:
            found = self._pushed.pop(query["request_uri"], None)  # one use, even when it then fails
            if found is None or found.client_id != query.get("client_id") or self.clock() > found.expires_at:
                return MockResponse.page(
                    "Lỗi: request_uri", "<p>invalid_request_uri: unknown, expired or already used</p>", 400
                )
            query, pushed = {**found.params, **{k: v for k, v in query.items() if k == "mock_citizen"}}, True
        client = self.clients.get(query.get("client_id", ""))
        if client is None:
            return MockResponse.page("Lỗi: ứng dụng không xác định", "<p>unknown client_id</p>", 400)
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:  # exact string match, never redirect elsewhere
            return MockResponse.page("Lỗi: redirect_uri", "<p>redirect_uri is not registered</p>", 400)
        state = query.get("state")

        def fail(error: str, description: str) -> MockResponse:
            params = {"error": error, "error_description": description, "iss": self.issuer}
            if state is not None:
                params["state"] = state
            return MockResponse.redirect(_add_query(redirect_uri, params))

        if client.require_par and not pushed:
            return fail("invalid_request", "this client must push its authorization requests (PAR)")
        try:
            scopes = self._check_authorization(client, query)
        except _OAuthFailure as failure:
            return fail(failure.error, failure.description)
        if self._injected is not None and self._injected.error is not None:
            return fail(self._injected.error, self._injected.description or "injected by the mock provider")
        citizen = self._chosen_citizen(query)
        if citizen is None:
            if "none" in query.get("prompt", "").split():
                return fail("login_required", "no citizen is logged in")
            return self._chooser(query)
        requested = query.get("acr_values", "").split()
        floor = min(requested, key=ASSURANCE_LEVELS.index) if requested else ASSURANCE_LEVELS[0]
        if ASSURANCE_LEVELS.index(citizen.acr) < ASSURANCE_LEVELS.index(floor):
            return fail("unmet_authentication_requirements", f"the account cannot reach {floor}")
        amr = citizen.amr if floor == citizen.acr else ("pwd",)
        now = self.clock()
        grant = _Grant(
            id=secrets.token_urlsafe(16),
            client_id=client.client_id,
            citizen=citizen,
            scopes=scopes,
            acr=floor,
            amr=amr,
            auth_time=int(now),
            sid=self._session_for(citizen).sid,
            expires_at=now + GRANT_LIFETIME,
        )
        self._grants[grant.id] = grant
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(
            grant=grant,
            redirect_uri=redirect_uri,
            code_challenge=query["code_challenge"],
            expires_at=now + CODE_LIFETIME,
            nonce=query.get("nonce"),
            dpop_jkt=query.get("dpop_jkt"),
        )
        params = {"code": code, "iss": self.issuer}
        if state is not None:
            params["state"] = state
        return MockResponse.redirect(_add_query(redirect_uri, params))

    def _session_for(self, citizen: Citizen) -> _Session:
        """One browser session per citizen, as one browser with single sign-on: every portal's
        login shares its `sid` until the citizen logs out."""
        session = self._sessions.get(citizen.sub)
        if session is None or session.ended:
            session = self._sessions[citizen.sub] = _Session(secrets.token_urlsafe(16), citizen.sub)
        return session

    def _chosen_citizen(self, query: Mapping[str, str]) -> Citizen | None:
        for candidate in (query.get("mock_citizen"), self.auto_login, query.get("login_hint")):
            if candidate and candidate in self.citizens:
                return self.citizens[candidate]
        return None

    def _chooser(self, query: Mapping[str, str]) -> MockResponse:
        def link(sub: str) -> str:
            return html.escape(self._base_path() + "/authorize?" + urlencode({**query, "mock_citizen": sub}))

        items = "".join(
            f'<li><a href="{link(sub)}">'
            f"{html.escape(citizen.name)}</a> ({html.escape(citizen.acr)}, {html.escape(' '.join(citizen.amr))})</li>"
            for sub, citizen in self.citizens.items()
        )
        return MockResponse.page("PostID (giả lập) – chọn công dân", f"<ul>{items}</ul>")

    def _par(self, request: MockRequest) -> MockResponse:
        """RFC 9126: the request on the back channel, authenticated; the browser carries only a
        `request_uri` that works once within 60 s. A DPoP proof here binds the code to its key."""
        if request.method != "POST":
            raise _OAuthFailure("invalid_request", "use POST", 405)
        client = self._authenticate_client(request)
        params = {k: v for k, v in request.form.items() if k not in _CLIENT_AUTH_FIELDS}
        if "request_uri" in params:
            raise _OAuthFailure("invalid_request", "request_uri cannot be pushed")
        if params.get("client_id", client.client_id) != client.client_id:
            raise _OAuthFailure("invalid_request", "client_id differs from the authenticated client")
        params["client_id"] = client.client_id
        jkt = self._dpop(request, "/par")
        if jkt is not None:
            if params.get("dpop_jkt", jkt) != jkt:
                raise _OAuthFailure("invalid_dpop_proof", "dpop_jkt differs from the DPoP proof's key")
            params["dpop_jkt"] = jkt
        if params.get("redirect_uri") not in client.redirect_uris:
            raise _OAuthFailure("invalid_request", "redirect_uri is not registered for this client")
        self._check_authorization(client, params)
        request_uri = PAR_URN + secrets.token_urlsafe(32)
        self._pushed[request_uri] = _Pushed(client.client_id, params, self.clock() + PAR_LIFETIME)
        return MockResponse.json({"request_uri": request_uri, "expires_in": PAR_LIFETIME}, 201)

    # DPoP -----------------------------------------------------------------------------------------

    def _dpop(self, request: MockRequest, path: str, access_token: str | None = None) -> str | None:
        """The proof's key thumbprint, or None without a proof; a refused proof is the client's 400
        (at a resource, the caller turns it into a 401 challenge) with the nonce to use."""
        proof = request.headers.get("dpop")
        if not proof:
            return None

        def seen(key: str) -> bool:
            if key in self._used_proofs:
                return True
            self._used_proofs.add(key)
            return False

        try:
            return check_proof(
                proof,
                method=request.method,
                url=self._url(path),
                now=self.clock(),
                nonce=self.dpop_nonce,
                seen=seen,
                access_token=access_token,
            )
        except ProofRefused as refused:
            headers = {"dpop-nonce": self.dpop_nonce} if self.dpop_nonce else {}
            raise _OAuthFailure(refused.error, refused.description, 400, headers) from None

    # /token ---------------------------------------------------------------------------------------

    def _token(self, request: MockRequest) -> MockResponse:
        if request.method != "POST":
            raise _OAuthFailure("invalid_request", "use POST", 405)
        client = self._authenticate_client(request)
        jkt = self._dpop(request, "/token")
        if self._injected is not None and self._injected.error is not None:
            failure = self._injected
            raise _OAuthFailure(failure.error or "", failure.description or "injected by the mock provider")
        if client.require_dpop and jkt is None:
            raise _OAuthFailure("invalid_dpop_proof", "this client must send a DPoP proof")
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            code = self._redeem_code(request.form, client, jkt)
            grant = code.grant
            if jkt is not None and client.is_public:
                grant.dpop_jkt = jkt
            return MockResponse.json(self._issue(grant, " ".join(grant.scopes), nonce=code.nonce, dpop_jkt=jkt))
        if grant_type == "refresh_token":
            return MockResponse.json(self._refresh(request.form, client, jkt))
        if grant_type == "client_credentials":
            return MockResponse.json(self._client_credentials(request.form, client, jkt))
        raise _OAuthFailure("unsupported_grant_type", f"grant_type {grant_type} is not supported")

    def _authenticate_client(self, request: MockRequest) -> RegisteredClient:
        form = request.form
        authorization = request.headers.get("authorization", "")
        client_id: str | None = None
        secret: str | None = None
        method = "none"
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode("ascii")
                raw_id, raw_secret = decoded.split(":", 1)
            except (ValueError, UnicodeDecodeError):
                raise _OAuthFailure("invalid_client", "malformed Basic credentials", 401) from None
            client_id, secret, method = unquote_plus(raw_id), unquote_plus(raw_secret), "client_secret_basic"
        elif "client_assertion" in form:
            method = "private_key_jwt"
            client_id = form.get("client_id")
            if client_id is None:
                try:
                    client_id = str(jwt.decode(form["client_assertion"], options={"verify_signature": False})["iss"])
                except (jwt.PyJWTError, KeyError):
                    raise _OAuthFailure("invalid_client", "client assertion rejected", 401) from None
        elif "client_secret" in form:
            client_id, secret, method = form.get("client_id"), form["client_secret"], "client_secret_post"
        else:
            client_id = form.get("client_id")
        client = self.clients.get(client_id or "")
        if client is None or client.auth_method != method:
            raise _OAuthFailure("invalid_client", "client authentication failed", 401)
        if method in ("client_secret_basic", "client_secret_post"):
            if not hmac.compare_digest((secret or "").encode(), (client.client_secret or "").encode()):
                raise _OAuthFailure("invalid_client", "client authentication failed", 401)
        if method == "private_key_jwt":
            self._check_assertion(form, client)
        return client

    def _check_assertion(self, form: Mapping[str, str], client: RegisteredClient) -> None:
        if form.get("client_assertion_type") != _ASSERTION_TYPE or not client.jwks:
            raise _OAuthFailure("invalid_client", "client assertion type", 401)
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            jwk = next(k for k in client.jwks["keys"] if header.get("kid") in (None, k.get("kid")))
            key = jwt.PyJWK(dict(jwk))
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=[str(jwk.get("alg", header.get("alg")))],
                audience=[self.issuer, self._url("/token"), self._url("/par")],
                issuer=client.client_id,
                options={"require": ["exp", "jti", "iat"], "verify_exp": False, "verify_iat": False},
            )
        except (jwt.PyJWTError, StopIteration, KeyError) as exc:
            raise _OAuthFailure("invalid_client", f"client assertion rejected: {exc}", 401) from None
        now = self.clock()
        if claims.get("sub") != client.client_id or claims["exp"] - claims["iat"] > 300 or claims["exp"] < now - LEEWAY:
            raise _OAuthFailure("invalid_client", "client assertion sub or lifetime", 401)
        if claims["jti"] in self._used_assertions:
            raise _OAuthFailure("invalid_client", "client assertion replayed", 401)
        self._used_assertions.add(claims["jti"])

    def _redeem_code(self, form: Mapping[str, str], client: RegisteredClient, jkt: str | None) -> _Code:
        code = self._codes.pop(form.get("code", ""), None)  # single use, even when it then fails
        if code is None or code.grant.client_id != client.client_id or self.clock() > code.expires_at:
            raise _OAuthFailure("invalid_grant", "the authorization code is invalid")
        if form.get("redirect_uri") != code.redirect_uri:
            raise _OAuthFailure("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(challenge, code.code_challenge):
            raise _OAuthFailure("invalid_grant", "code_verifier does not match the code_challenge")
        if code.dpop_jkt is not None and code.dpop_jkt != jkt:
            raise _OAuthFailure("invalid_grant", "the code is bound to another DPoP key")  # RFC 9449 §10
        if code.grant.revoked:
            raise _OAuthFailure("invalid_grant", "the authorization has been revoked")
        return code

    def _refresh(self, form: Mapping[str, str], client: RegisteredClient, jkt: str | None) -> dict[str, Any]:
        token = form.get("refresh_token", "")
        record = self._refresh_tokens.get(token)
        if record is None or record.grant.client_id != client.client_id:
            raise _OAuthFailure("invalid_grant", "the refresh token is invalid")
        grant = record.grant
        if grant.dpop_jkt is not None and grant.dpop_jkt != jkt:  # before rotation: a thief cannot burn it
            raise _OAuthFailure("invalid_grant", "the refresh token is bound to another DPoP key")
        now = self.clock()
        if record.used and not self._retry_within_grace(record, now):
            grant.revoked = True  # RFC 9700 §4.14.2: a rotated token presented again leaked; end the grant
            raise _OAuthFailure("invalid_grant", "the refresh token was already used")
        if grant.revoked or now > grant.expires_at:
            raise _OAuthFailure("invalid_grant", "the refresh token has expired or was revoked")
        record.used_at = now
        scope = record.scope
        if "scope" in form:
            wanted = form["scope"].split()
            if not set(wanted) <= set(record.scope.split()):
                raise _OAuthFailure("invalid_scope", "a refresh cannot widen the scope")
            scope = " ".join(wanted)
        issued = self._issue(grant, scope, nonce=None, dpop_jkt=jkt, refresh_scope=record.scope)
        record.replaced_by = issued.get("refresh_token")
        return issued

    def _retry_within_grace(self, record: _Refresh, now: float) -> bool:
        """The real provider's one retry: the token was rotated at most REFRESH_GRACE seconds ago and
        its successor never used; the successor dies and a new one takes its place."""
        successor = self._refresh_tokens.get(record.replaced_by or "")
        if record.grace_used or record.used_at is None or now - record.used_at > REFRESH_GRACE:
            return False
        if successor is None or successor.used:
            return False
        successor.used_at = now
        record.grace_used = True
        return True

    def _client_credentials(self, form: Mapping[str, str], client: RegisteredClient, jkt: str | None) -> dict[str, Any]:
        """RFC 6749 §4.4: a portal back-end calling APIs as itself, with its non-citizen scopes."""
        if client.is_public:
            raise _OAuthFailure("unauthorized_client", "a public client cannot use client_credentials")
        allowed = sorted(set(client.scopes) - _CITIZEN_SCOPES)
        scope = form["scope"].split() if "scope" in form else allowed
        if not set(scope) <= set(allowed):
            raise _OAuthFailure("invalid_scope", "scope is not allowed for this client")
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client.client_id,
            "aud": self.issuer,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "jti": secrets.token_urlsafe(16),
            "scope": " ".join(scope),
        }
        if jkt:
            claims["cnf"] = {"jkt": jkt}
        return {
            "access_token": self.sign(claims, typ="at+jwt"),
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": " ".join(scope),
        }

    def _issue(
        self,
        grant: _Grant,
        scope: str,
        *,
        nonce: str | None,
        dpop_jkt: str | None,
        refresh_scope: str | None = None,
    ) -> dict[str, Any]:
        """The real provider's tokens claim for claim (idp/core/tokens.py `issue`): the access token
        carries the login (`acr`, `amr`, `auth_time`) and the grant; the ID token carries who and how,
        plus the citizen ID number's standing with the `citizen_id` scope; profile, email, phone and
        national profile claims are released at userinfo only."""
        now = int(self.clock())
        scopes = scope.split()
        access_claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.citizen.sub,
            "aud": self.issuer,
            "client_id": grant.client_id,
            "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "amr": list(grant.amr),
            "gid": grant.id,
        }
        if dpop_jkt:
            access_claims["cnf"] = {"jkt": dpop_jkt}  # RFC 9449 §6.1
        access_token = self.sign(access_claims, typ="at+jwt")
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "DPoP" if dpop_jkt else "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": scope,
        }
        if "openid" in scopes:
            id_claims: dict[str, Any] = {
                "iss": self.issuer,
                "sub": grant.citizen.sub,
                "aud": grant.client_id,
                "azp": grant.client_id,
                "iat": now,
                "exp": now + ID_TOKEN_LIFETIME,
                "auth_time": grant.auth_time,
                "acr": grant.acr,
                "amr": list(grant.amr),
                "at_hash": left_half_hash(access_token, "ES256"),
                "sid": grant.sid,
            }
            if nonce is not None:
                id_claims["nonce"] = nonce
            if "citizen_id" in scopes:
                id_claims.update(grant.citizen.citizen_id_claims())
            response["id_token"] = self.sign(id_claims)
        if "offline_access" in grant.scopes:
            refresh_token = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh_token] = _Refresh(grant, refresh_scope or scope)
            response["refresh_token"] = refresh_token
        return response

    # /userinfo, /introspect, /revoke, /logout -------------------------------------------------------

    def _live_access_token(self, token: str) -> tuple[dict[str, Any], _Grant | None]:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.find(header.get("kid"))
            if key is None or header.get("typ") != "at+jwt":
                raise jwt.InvalidTokenError("unknown key or not an access token")
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=["ES256"],
                audience=self.issuer,
                issuer=self.issuer,
                options={"verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise _BearerFailure("the access token is invalid") from None
        if claims["exp"] + LEEWAY < self.clock():
            raise _BearerFailure("the access token is invalid")
        grant = self._grants.get(str(claims.get("gid"))) if "gid" in claims else None
        if claims["jti"] in self._revoked_access or (grant is not None and grant.revoked):
            raise _BearerFailure("the access token was revoked")
        return claims, grant

    def _userinfo(self, request: MockRequest) -> MockResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        scheme, token = scheme.lower(), token.strip()
        try:
            if scheme not in ("bearer", "dpop") or not token:
                raise _BearerFailure("an access token is required", error="")
            claims, grant = self._live_access_token(token)
            jkt = None
            if scheme == "dpop":
                try:
                    jkt = self._dpop(request, "/userinfo", access_token=token)
                except _OAuthFailure as failure:
                    raise _BearerFailure(failure.description, failure.error, dpop=True) from None
            bound = claims.get("cnf", {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
            if bound is None and scheme != "bearer":
                raise _BearerFailure("this access token is not DPoP-bound")
            if bound is not None and (scheme != "dpop" or jkt != bound):
                raise _BearerFailure("this access token must be used with a DPoP proof of its key")
            if grant is None:
                raise _BearerFailure("the access token does not name a citizen")
        except _BearerFailure as failure:
            return self._bearer_refusal(failure)
        citizen = self.citizens[grant.citizen.sub]
        return MockResponse.json({"sub": claims["sub"], **citizen.released_claims(str(claims["scope"]).split())})

    def _bearer_refusal(self, failure: _BearerFailure) -> MockResponse:
        """RFC 6750 §3 and RFC 9449 §7.1: a 401 with the challenges; no error code when no token came."""
        algs = " ".join(DPOP_ALGS)
        if failure.dpop:
            challenge = f'DPoP error="{failure.error}", algs="{algs}"'
            headers = {"www-authenticate": challenge}
            if self.dpop_nonce:
                headers["dpop-nonce"] = self.dpop_nonce
            return MockResponse.json({"error": failure.error, "error_description": failure.description}, 401, headers)
        if not failure.error:
            challenge = f'Bearer realm="{self.issuer}", DPoP algs="{algs}"'
            body = {"error": "invalid_token", "error_description": failure.description}
            return MockResponse.json(body, 401, {"www-authenticate": challenge})
        challenge = f'Bearer realm="{self.issuer}", error="{failure.error}", error_description="{failure.description}"'
        return MockResponse.json(
            {"error": failure.error, "error_description": failure.description}, 401, {"www-authenticate": challenge}
        )

    def _introspect(self, request: MockRequest) -> MockResponse:
        """RFC 7662 §2, as the real provider answers it."""
        if request.method != "POST":
            raise _OAuthFailure("invalid_request", "use POST", 405)
        caller = self._authenticate_client(request)
        if caller.is_public:
            raise _OAuthFailure("invalid_client", "a public client cannot introspect tokens", 401)
        token = request.form.get("token", "")
        if token.count(".") == 2:
            try:
                claims, _ = self._live_access_token(token)
            except _BearerFailure:
                return MockResponse.json({"active": False})
            names = ("scope", "client_id", "sub", "exp", "iat", "iss", "jti", "acr", "amr", "auth_time", "cnf")
            answer = {name: claims[name] for name in names if name in claims}
            token_type = "DPoP" if "cnf" in claims else "Bearer"
            return MockResponse.json({"active": True, "token_type": token_type, "aud": claims["aud"], **answer})
        record = self._refresh_tokens.get(token)
        if record is None or record.used or record.grant.revoked or record.grant.client_id != caller.client_id:
            return MockResponse.json({"active": False})
        return MockResponse.json(
            {
                "active": True,
                "token_type": "refresh_token",
                "scope": record.scope,
                "client_id": record.grant.client_id,
                "sub": record.grant.citizen.sub,
                "exp": int(record.grant.expires_at),
                "iss": self.issuer,
            }
        )

    def _revoke(self, request: MockRequest) -> MockResponse:
        """RFC 7009 §2.2: the same answer whether or not the token was known; a refresh token's
        revocation ends its whole grant, as on the real provider."""
        client = self._authenticate_client(request)
        token = request.form.get("token", "")
        record = self._refresh_tokens.get(token)
        if record is not None and record.grant.client_id == client.client_id:
            record.grant.revoked = True
        elif token.count(".") == 2:
            try:
                claims, _ = self._live_access_token(token)
                if claims.get("client_id") == client.client_id:
                    self._revoked_access.add(str(claims["jti"]))
            except _BearerFailure:
                pass
        return MockResponse(200, {"cache-control": "no-store"}, b"")

    def _end_session_endpoint(self, request: MockRequest) -> MockResponse:
        """RP-initiated logout: with a hint naming a live session, the session ends and every portal
        that took part is told on its back channel; the browser goes back only to a URI registered
        for the hinted portal."""
        params = {**request.query, **request.form}
        hinted: RegisteredClient | None = None
        hint = params.get("id_token_hint")
        if hint:
            try:
                header = jwt.get_unverified_header(hint)
                key = self._keys.find(header.get("kid"))
                if key is not None:
                    options: Any = {"verify_exp": False, "verify_aud": False}
                    claims = jwt.decode(hint, key.private.public_key(), algorithms=["ES256"], options=options)
                    hinted = self.clients.get(str(claims.get("aud")))
                    if params.get("client_id") not in (None, str(claims.get("aud"))):
                        hinted = None
                    session = self._sessions.get(str(claims.get("sub")))
                    if hinted is not None and session is not None and session.sid == claims.get("sid"):
                        if not session.ended:
                            self._end_session(session)
            except jwt.PyJWTError:
                hinted = None
        target = params.get("post_logout_redirect_uri")
        if hinted is not None and target and target in hinted.post_logout_redirect_uris:
            extra = {"state": params["state"]} if "state" in params else {}
            return MockResponse.redirect(_add_query(target, extra))
        return MockResponse.page("Đã đăng xuất", "<p>Bạn đã đăng xuất khỏi PostID.</p>")

    # back-channel logout -------------------------------------------------------------------------

    def _end_session(self, session: _Session) -> None:
        """End the session, revoke its grants, queue a logout token for each portal that took part."""
        session.ended = True
        self.ended_sessions.append(session.sid)
        told: set[str] = set()
        for grant in self._grants.values():
            if grant.sid != session.sid or grant.revoked:
                continue
            grant.revoked = True
            if grant.client_id in told:
                continue
            told.add(grant.client_id)
            client = self.clients.get(grant.client_id)
            if client is not None and client.backchannel_logout_uri:
                token = self.logout_token(client.client_id, sub=grant.citizen.sub, sid=session.sid)
                self._pending.items.append((client, token))

    def _deliver(self, pending: _Pending, http_client: httpx.Client | None) -> list[Delivery]:
        """POST each token (OIDC Back-Channel Logout §2.5: form-encoded `logout_token`)."""
        http = http_client or self._backchannel_client
        owned = http is None
        if http is None:
            http = httpx.Client(timeout=10)
        results = []
        try:
            for client, token in pending.items:
                uri = client.backchannel_logout_uri or ""
                try:
                    answer = http.post(uri, data={"logout_token": token})
                    results.append(Delivery(client.client_id, uri, token, answer.status_code))
                except httpx.HTTPError as exc:
                    results.append(Delivery(client.client_id, uri, token, None, f"{type(exc).__name__}: {exc}"))
        finally:
            if owned:
                http.close()
        with self._lock:
            self.deliveries.extend(results)
        return results


class MockTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Every request answered by the provider, for `httpx.Client` and `httpx.AsyncClient` alike.
    The async side answers from a worker thread, so an injected delay never stalls the event loop."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = self.provider.handle(_from_httpx(request))
        return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio.to_thread

        await request.aread()
        reply = await anyio.to_thread.run_sync(self.provider.handle, _from_httpx(request))
        return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body)


def _from_httpx(request: httpx.Request) -> MockRequest:
    form: dict[str, str] = {}
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
    return MockRequest(
        request.method,
        request.url.path,
        dict(request.url.params),
        form,
        {name.lower(): value for name, value in request.headers.items()},
        request.content,
    )


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _all_claims() -> list[str]:
    from .citizens import SCOPE_CLAIMS

    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash"]
    for claims in SCOPE_CLAIMS.values():
        names.extend(claims)
    return names


def _add_query(url: str, params: Mapping[str, str]) -> str:
    if not params:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)
