"""A scriptable fake provider behind `httpx.MockTransport`, a settable clock, and helpers to mint
tokens the way the provider (or an attacker) would."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from postid_client import LoginRequest, PostIDClient, TokenSet
from postid_client._jose import left_half_hash, public_jwk
from postid_client.client_auth import ClientSecretBasic

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its TestClient; httpx is fine here
    warnings.simplefilter("ignore")
    import starlette.testclient  # noqa: F401

ISSUER = "https://id.postid.test"
CLIENT_ID = "portal-thue"
SECRET = "s3cret:with spaces&symbols/é"
REDIRECT_URI = "https://portal.test/callback"
NOW = 1_700_000_000.0
ACCESS_TOKEN = "access-token-value"


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SigningKey:
    kid: str
    private: Any
    alg: str = "ES256"

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private, self.alg, self.kid)


def new_ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()))


@dataclass
class FakeProvider:
    """Answers discovery, JWKS and token requests from fields a test can change."""

    clock: FakeClock
    keys: list[SigningKey] = field(default_factory=lambda: [new_ec_key("key-1")])
    discovery_cache_control: str = "public, max-age=300"
    discovery_overrides: dict[str, Any] = field(default_factory=dict)
    jwks_cache_control: str | None = None
    token_body: dict[str, Any] | None = None
    token_status: int = 200
    userinfo_body: dict[str, Any] | None = None
    down: bool = False
    server_error: bool = False
    requests: list[httpx.Request] = field(default_factory=list)

    @property
    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks",
            "revocation_endpoint": f"{ISSUER}/revoke",
            "end_session_endpoint": f"{ISSUER}/logout",
            "authorization_response_iss_parameter_supported": True,
            "code_challenge_methods_supported": ["S256"],
            **self.discovery_overrides,
        }

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("provider unreachable", request=request)
        if self.server_error:
            return httpx.Response(503, text="maintenance")
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery, headers={"Cache-Control": self.discovery_cache_control})
        if path == "/jwks":
            headers = {"Cache-Control": self.jwks_cache_control} if self.jwks_cache_control else {}
            return httpx.Response(200, json={"keys": [key.jwk for key in self.keys]}, headers=headers)
        if path == "/token":
            return httpx.Response(self.token_status, json=self.token_body)
        if path == "/userinfo":
            return httpx.Response(200, json=self.userinfo_body)
        if path == "/revoke":
            return httpx.Response(200)
        return httpx.Response(404)

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if request.url.path == path)

    def form(self, path: str) -> dict[str, str]:
        request = [request for request in self.requests if request.url.path == path][-1]
        return dict(parse_qsl(request.content.decode()))

    def client(self, **options: Any) -> PostIDClient:
        options.setdefault("auth", ClientSecretBasic(SECRET))
        options.setdefault("redirect_uri", REDIRECT_URI)
        return PostIDClient(
            ISSUER,
            CLIENT_ID,
            clock=self.clock,
            http_client=httpx.Client(transport=httpx.MockTransport(self.handler)),
            **options,
        )

    def id_token_claims(self, login: LoginRequest, **changes: Any) -> dict[str, Any]:
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "citizen-1",
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "auth_time": now,
            "nonce": login.nonce,
            "acr": "LoA2",
            "amr": ["pwd", "otp"],
            "sid": "session-1",
            "name": "Nguyễn Văn An",
            "at_hash": left_half_hash(ACCESS_TOKEN, "ES256"),
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: SigningKey | None = None,
        typ: str | None = "JWT",
        headers: dict[str, Any] | None = None,
    ) -> str:
        key = key or self.keys[-1]
        header: dict[str, Any] = {"kid": key.kid, **(headers or {})}
        if typ is not None:
            header["typ"] = typ
        return jwt.encode(claims, key.private, algorithm=key.alg, headers=header)

    def answer_with_id_token(self, id_token: str, **extra: Any) -> None:
        self.token_body = {
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 600,
            "id_token": id_token,
            **extra,
        }


def callback_url(login: LoginRequest, **params: str | None) -> str:
    values: dict[str, str | None] = {"code": "the-code", "state": login.state, "iss": ISSUER, **params}
    return REDIRECT_URI + "?" + urlencode({name: value for name, value in values.items() if value is not None})


def log_in(
    provider: FakeProvider,
    client: PostIDClient,
    *,
    login_options: dict[str, Any] | None = None,
    token: Callable[[LoginRequest], str] | None = None,
    **claim_changes: Any,
) -> TokenSet:
    """Run a whole login whose ID token carries `claim_changes` (or is built by `token`)."""
    login = client.start_login(**(login_options or {}))
    id_token = token(login) if token else provider.sign(provider.id_token_claims(login, **claim_changes))
    provider.answer_with_id_token(id_token)
    return client.finish_login(callback_url(login), login)


def unsigned_json_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    from postid_client._jose import b64url_encode

    return (
        ".".join(b64url_encode(json.dumps(part).encode()) for part in (header, claims)) + "." + b64url_encode(signature)
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider(clock: FakeClock) -> FakeProvider:
    return FakeProvider(clock)


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[PostIDClient]:
    with provider.client() as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
