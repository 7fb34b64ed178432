"""An in-process PostID provider for portals' tests, in the spirit of Singpass MockPass and the
GOV.UK One Login simulator: real signatures, real PKCE, no database, auto-approved logins.

The protocol logic works on plain `MockRequest` values, so the same provider answers through an
`httpx.MockTransport` (sync or async SDK clients, no server), as an ASGI app, or on 127.0.0.1.
It is strict where a portal could otherwise pass its tests and fail against the real provider
(PKCE S256, exact redirect URIs, client authentication, single-use codes, rotated refresh tokens)
and lenient elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import httpx
import jwt

from .._jose import PrivateKey, generate_private_key, left_half_hash, public_jwk, sign
from ..clock import Clock, system_clock
from ..defaults import ASSURANCE_LEVELS
from ..logout_token import BACKCHANNEL_LOGOUT_EVENT
from .citizens import SAMPLE_CITIZENS, Citizen

__all__ = ["MockProvider", "MockRequest", "MockResponse", "RegisteredClient"]

CODE_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 600
ID_TOKEN_LIFETIME = 600
SCOPES = ("openid", "profile", "email", "phone", "offline_access")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class MockRequest:
    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names


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
        return cls(302, {"location": location, "cache-control": "no-store"}, b"")

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


@dataclass
class _Grant:
    """What a code or refresh token stands for."""

    client_id: str
    citizen: Citizen
    scopes: tuple[str, ...]
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    sid: str
    nonce: str | None = None
    redirect_uri: str | None = None
    code_challenge: str | None = None
    expires_at: float = 0.0


class _OAuthFailure(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class _Key:
    private: PrivateKey
    jwk: dict[str, Any]

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])


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
    ) -> None:
        self.issuer = issuer
        self.clock = clock
        self.citizens: dict[str, Citizen] = {citizen.sub: citizen for citizen in citizens}
        self.clients: dict[str, RegisteredClient] = {}
        self.auto_login: str | None = None
        self.ended_sessions: list[str] = []
        self._keys: list[_Key] = []
        self._codes: dict[str, _Grant] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._revoked_access: set[str] = set()
        self._used_assertions: set[str] = set()
        self._lock = threading.Lock()
        self.rotate_key()

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
    ) -> RegisteredClient:
        """Register a portal; the method defaults from what is given (secret → basic, JWKS →
        private_key_jwt, nothing → a public client)."""
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
        )
        self.clients[client_id] = client
        return client

    def add_citizen(self, citizen: Citizen) -> None:
        self.citizens[citizen.sub] = citizen

    def login_as(self, sub: str | None) -> None:
        """Auto-approve every following authorization as this citizen (None: show the chooser)."""
        if sub is not None and sub not in self.citizens:
            raise KeyError(f"no test citizen {sub!r}")
        self.auto_login = sub

    def rotate_key(self) -> str:
        """Publish a new signing key and sign with it from now on; old keys stay published."""
        private = generate_private_key("ES256")
        key = _Key(private, public_jwk(private, "ES256"))
        self._keys.append(key)
        return key.kid

    def retire_old_keys(self) -> None:
        """Stop publishing every key but the current one."""
        self._keys = self._keys[-1:]

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(key.jwk) for key in self._keys]}

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT") -> str:
        """Sign arbitrary claims with the current key: for tests of how a portal handles odd tokens."""
        key = self._keys[-1]
        return sign(claims, key.private, "ES256", kid=key.kid, typ=typ)

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
            "exp": now + 120,
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

    def transport(self) -> httpx.MockTransport:
        """An httpx transport (sync and async) that answers every request from this provider."""
        return httpx.MockTransport(self._handle_httpx)

    @property
    def app(self) -> Any:
        """The provider as an ASGI application."""
        from .asgi import asgi_app

        return asgi_app(self)

    @contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Run on a free port of 127.0.0.1 in a thread; the issuer becomes `http://127.0.0.1:PORT`."""
        from .server import serve_in_thread

        with serve_in_thread(self, host) as issuer:
            yield issuer

    def approve(self, authorization_url: str, citizen: str | None = None) -> str:
        """Play the browser at `/authorize`: return where the provider redirects (the portal's
        callback with `code`, `state`, `iss`, or with `error`)."""
        parts = urlsplit(authorization_url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if citizen is not None:
            query["mock_citizen"] = citizen
        response = self.handle(MockRequest("GET", "/authorize", query, {}, {}))
        if response.status != 302:
            raise AssertionError(f"/authorize answered {response.status}: {response.body.decode()[:300]}")
        return response.headers["location"]

    # -- the protocol -----------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.issuer.rstrip("/") + path

    def _base_path(self) -> str:
        return urlsplit(self.issuer).path.rstrip("/")

    def handle(self, request: MockRequest) -> MockResponse:
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/token": self._token,
            "/userinfo": self._userinfo,
            "/revoke": self._revoke,
            "/logout": self._end_session,
        }
        base = self._base_path()
        path = request.path[len(base) :] if base and request.path.startswith(base) else request.path
        endpoint = routes.get(path)
        if endpoint is None:
            return MockResponse.json({"error": "not_found"}, 404)
        try:
            with self._lock:
                return endpoint(request)
        except _OAuthFailure as failure:
            headers = {"www-authenticate": f'Basic realm="{self.issuer}"'} if failure.status == 401 else {}
            return MockResponse.json(
                {"error": failure.error, "error_description": failure.description}, failure.status, headers
            )

    def _handle_httpx(self, request: httpx.Request) -> httpx.Response:
        form: dict[str, str] = {}
        if request.method == "POST":
            form = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
        mock_request = MockRequest(
            request.method,
            request.url.path,
            dict(request.url.params),
            form,
            {name.lower(): value for name, value in request.headers.items()},
        )
        reply = self.handle(mock_request)
        return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body)

    def _discovery(self, request: MockRequest) -> MockResponse:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": self._url("/authorize"),
            "token_endpoint": self._url("/token"),
            "userinfo_endpoint": self._url("/userinfo"),
            "jwks_uri": self._url("/jwks"),
            "revocation_endpoint": self._url("/revoke"),
            "end_session_endpoint": self._url("/logout"),
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": list(ASSURANCE_LEVELS),
            "claims_supported": [
                "sub",
                "acr",
                "amr",
                "auth_time",
                "sid",
                "name",
                "birthdate",
                "gender",
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified",
            ],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        return MockResponse.json(document, headers={"cache-control": "public, max-age=300"})

    def _jwks(self, request: MockRequest) -> MockResponse:
        return MockResponse.json(self.jwks, headers={"cache-control": "public, max-age=300"})

    # /authorize ----------------------------------------------------------------------------------

    def _authorize(self, request: MockRequest) -> MockResponse:
        query = request.query
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

        if query.get("response_type") != "code":
            return fail("unsupported_response_type", "only the code flow is supported")
        scopes = tuple(query.get("scope", "").split())
        if "openid" not in scopes:
            return fail("invalid_scope", "scope must include openid")
        if unknown := [scope for scope in scopes if scope not in SCOPES]:
            return fail("invalid_scope", f"unknown scope {unknown[0]}")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return fail("invalid_request", "PKCE with S256 is required")
        requested = query.get("acr_values", "").split()
        if any(level not in ASSURANCE_LEVELS for level in requested):
            return fail("invalid_request", "unknown acr_values")

        citizen = self._chosen_citizen(query)
        if citizen is None:
            if "none" in query.get("prompt", "").split():
                return fail("login_required", "no citizen is logged in")
            return self._chooser(query)
        floor = min(requested, key=ASSURANCE_LEVELS.index) if requested else ASSURANCE_LEVELS[0]
        if ASSURANCE_LEVELS.index(citizen.acr) < ASSURANCE_LEVELS.index(floor):
            return fail("unmet_authentication_requirements", f"the account cannot reach {floor}")
        amr = citizen.amr if floor == citizen.acr else ("pwd",)
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Grant(
            client_id=client.client_id,
            citizen=citizen,
            scopes=scopes,
            acr=floor,
            amr=amr,
            auth_time=int(self.clock()),
            sid=secrets.token_urlsafe(16),
            nonce=query.get("nonce"),
            redirect_uri=redirect_uri,
            code_challenge=query["code_challenge"],
            expires_at=self.clock() + CODE_LIFETIME,
        )
        params = {"code": code, "iss": self.issuer}
        if state is not None:
            params["state"] = state
        return MockResponse.redirect(_add_query(redirect_uri, params))

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

    # /token --------------------------------------------------------------------------------------

    def _token(self, request: MockRequest) -> MockResponse:
        if request.method != "POST":
            raise _OAuthFailure("invalid_request", "use POST", 405)
        client = self._authenticate_client(request)
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self._redeem_code(request.form, client)
            return MockResponse.json(self._issue(grant, nonce=grant.nonce))
        if grant_type == "refresh_token":
            old = request.form.get("refresh_token", "")
            refreshed = self._refresh_tokens.pop(old, None)  # rotation: each refresh token works once
            if refreshed is None or refreshed.client_id != client.client_id:
                raise _OAuthFailure("invalid_grant", "unknown, used or revoked refresh token")
            return MockResponse.json(self._issue(refreshed, nonce=None))
        raise _OAuthFailure("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

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
                audience=[self.issuer, self._url("/token")],
                issuer=client.client_id,
                options={"require": ["exp", "jti", "iat"]},
                leeway=60,
            )
        except (jwt.PyJWTError, StopIteration, KeyError) as exc:
            raise _OAuthFailure("invalid_client", f"client assertion rejected: {exc}", 401) from None
        if claims.get("sub") != client.client_id or claims["exp"] - claims["iat"] > 300:
            raise _OAuthFailure("invalid_client", "client assertion sub or lifetime", 401)
        if claims["jti"] in self._used_assertions:
            raise _OAuthFailure("invalid_client", "client assertion replayed", 401)
        self._used_assertions.add(claims["jti"])

    def _redeem_code(self, form: Mapping[str, str], client: RegisteredClient) -> _Grant:
        grant = self._codes.pop(form.get("code", ""), None)  # single use, even when it then fails
        if grant is None or grant.client_id != client.client_id or self.clock() > grant.expires_at:
            raise _OAuthFailure("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthFailure("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(challenge, grant.code_challenge or ""):
            raise _OAuthFailure("invalid_grant", "PKCE verification failed")
        return grant

    def _issue(self, grant: _Grant, *, nonce: str | None) -> dict[str, Any]:
        now = int(self.clock())
        access_claims = {
            "iss": self.issuer,
            "sub": grant.citizen.sub,
            "aud": self.issuer,
            "client_id": grant.client_id,
            "scope": " ".join(grant.scopes),
            "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "jti": secrets.token_urlsafe(16),
            "acr": grant.acr,
            "auth_time": grant.auth_time,
        }
        access_token = self.sign(access_claims, typ="at+jwt")
        id_claims: dict[str, Any] = {
            **grant.citizen.released_claims(grant.scopes),
            "iss": self.issuer,
            "sub": grant.citizen.sub,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "amr": list(grant.amr),
            "sid": grant.sid,
            "at_hash": left_half_hash(access_token, "ES256"),
        }
        if nonce is not None:
            id_claims["nonce"] = nonce
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": " ".join(grant.scopes),
            "id_token": self.sign(id_claims),
        }
        if "offline_access" in grant.scopes:
            refresh_token = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh_token] = grant
            response["refresh_token"] = refresh_token
        return response

    # /userinfo, /revoke, /logout -------------------------------------------------------------------

    def _access_claims(self, request: MockRequest) -> dict[str, Any]:
        authorization = request.headers.get("authorization", "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        try:
            header = jwt.get_unverified_header(token)
            key = next(key for key in self._keys if key.kid == header.get("kid"))
            if header.get("typ") != "at+jwt":
                raise jwt.InvalidTokenError("not an access token")
            claims: dict[str, Any] = jwt.decode(
                token, key.private.public_key(), algorithms=["ES256"], audience=self.issuer, issuer=self.issuer
            )
        except (jwt.PyJWTError, StopIteration):
            claims = {}
        if not claims or claims["jti"] in self._revoked_access:
            raise _BearerFailure()
        return claims

    def _userinfo(self, request: MockRequest) -> MockResponse:
        try:
            claims = self._access_claims(request)
        except _BearerFailure:
            return MockResponse(
                401,
                {"www-authenticate": 'Bearer error="invalid_token", error_description="invalid access token"'},
                b"",
            )
        citizen = self.citizens[claims["sub"]]
        return MockResponse.json({"sub": citizen.sub, **citizen.released_claims(claims["scope"].split())})

    def _revoke(self, request: MockRequest) -> MockResponse:
        client = self._authenticate_client(request)
        token = request.form.get("token", "")
        grant = self._refresh_tokens.get(token)
        if grant is not None and grant.client_id == client.client_id:
            del self._refresh_tokens[token]
        else:
            try:
                claims = jwt.decode(token, options={"verify_signature": False})
                if claims.get("client_id") == client.client_id and "jti" in claims:
                    self._revoked_access.add(claims["jti"])
            except jwt.PyJWTError:
                pass  # RFC 7009 §2.2: invalid tokens are answered 200 as well
        return MockResponse(200, {"cache-control": "no-store"}, b"")

    def _end_session(self, request: MockRequest) -> MockResponse:
        params = {**request.query, **request.form}
        client = self.clients.get(params.get("client_id", ""))
        hint = params.get("id_token_hint")
        if hint:
            try:
                claims = jwt.decode(hint, options={"verify_signature": False})
                self.ended_sessions.append(str(claims.get("sid")))
                client = client or self.clients.get(str(claims.get("aud")))
            except jwt.PyJWTError:
                pass
        target = params.get("post_logout_redirect_uri")
        if client is not None and target and target in client.post_logout_redirect_uris:
            extra = {"state": params["state"]} if "state" in params else {}
            return MockResponse.redirect(_add_query(target, extra))
        return MockResponse.page("Đã đăng xuất", "<p>Bạn đã đăng xuất khỏi PostID.</p>")


class _BearerFailure(Exception):
    pass


def _add_query(url: str, params: Mapping[str, str]) -> str:
    if not params:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)
