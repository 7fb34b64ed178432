"""A FAPI 2.0 portal and what it signs with: client keys of each algorithm, client assertions,
DPoP proofs, and the PAR → login → token walk, all through real HTTP (TestClient) and real signatures.

The provider here runs with lifetimes and leeway at the top of their ranges (codes 600 s, access
tokens 3600 s, leeway 300 s), so a FAPI limit holds because the profile caps it, not because
the defaults happen to fit; a standard client in the same test shows what the settings give.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from idp.core import dpop
from idp.crypto.keys import thumbprint
from idp.settings import Settings
from tests.helpers import ISSUER, Pkce, Portal, add_citizen, add_portal, query_of, walk_pages

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "openid profile offline_access"


@cache
def _rsa_private() -> rsa.RSAPrivateKey:
    """One RSA key per run: generating one costs ~100 ms."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ClientKey:
    """A client's signing key: for client assertions (with a `kid` in its JWKS) and DPoP proofs
    (the public JWK in the header). `alg` None in the JWKS entry when `publish_alg` is False."""

    def __init__(self, alg: str = "ES256", publish_alg: bool = True) -> None:
        self.alg = alg
        self.kid = secrets.token_hex(4)
        if alg == "ES256":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:  # PS256, RS256: the same RSA key family
            self.private = _rsa_private()
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}
        self.public_jwk = {**self.jwk, "kid": self.kid, "use": "sig", **({"alg": alg} if publish_alg else {})}
        self.jkt = thumbprint(self.jwk)

    def sign(self, claims: dict[str, Any], headers: dict[str, Any]) -> str:
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, self.private, self.alg, headers=headers)

    def assertion(self, client_id: str, now: int, **changes: Any) -> str:
        claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": now, "exp": now + 60}
        claims.update(jti=secrets.token_hex(8), **changes)
        return self.sign(claims, {"kid": self.kid})

    def proof(
        self, method: str, url: str, now: int, nonce: str | None, access_token: str | None = None, **changes: Any
    ) -> str:
        claims: dict[str, Any] = {"jti": secrets.token_hex(8), "htm": method, "htu": url, "iat": now, "nonce": nonce}
        if access_token:
            claims["ath"] = (
                base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
            )
        claims.update(changes)
        return self.sign(claims, {"typ": "dpop+jwt", "jwk": self.jwk})


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, code_ttl=600, access_token_ttl=3600, clock_leeway=300)


@dataclass
class KeyedPortal:
    """A `private_key_jwt` portal with its key, and a DPoP key of its own; speaks to the provider
    the way a FAPI 2.0 client does."""

    http: Any
    provider: Any
    portal: Portal
    key: ClientKey
    dpop_key: ClientKey = field(default_factory=ClientKey)

    @property
    def now(self) -> int:
        return int(self.provider.clock.now())

    def assertion(self, **changes: Any) -> str:
        return self.key.assertion(self.portal.client_id, self.now, **changes)

    def proof(
        self, method: str, path: str, access_token: str | None = None, key: ClientKey | None = None, **changes: Any
    ) -> str:
        nonce = dpop.current_nonce(self.provider)
        return (key or self.dpop_key).proof(method, ISSUER + path, self.now, nonce, access_token, **changes)

    def auth(self, assertion: str | None = None) -> dict[str, str]:
        return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion or self.assertion()}

    def push(
        self, pkce: Pkce, *, assertion: str | None = None, proof: str | None = None, **params: str | None
    ) -> httpx.Response:
        data = {
            "client_id": self.portal.client_id,
            "redirect_uri": self.portal.redirect_uri,
            "response_type": "code",
            "scope": SCOPE,
            "state": "st-" + secrets.token_hex(4),
            "nonce": "n-" + secrets.token_hex(4),
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            **params,
        }
        headers = {"DPoP": proof or self.proof("POST", "/par")}
        return self.http.post(
            "/par", data={k: v for k, v in data.items() if v is not None} | self.auth(assertion), headers=headers
        )

    def login(self, pkce: Pkce, citizen: tuple[Any, str]) -> str:
        """PAR, then the citizen's pages; returns the code."""
        pushed = self.push(pkce)
        assert pushed.status_code == 201, pushed.text
        query = urlencode({"client_id": self.portal.client_id, "request_uri": pushed.json()["request_uri"]})
        record, password = citizen
        callback = walk_pages(self.http, "/authorize?" + query, self.portal.redirect_uri, record.id_number, password)
        return query_of(callback)["code"]

    def token(
        self, data: dict[str, str], *, assertion: str | None = None, proof: str | bool | None = True
    ) -> httpx.Response:
        headers = {"DPoP": self.proof("POST", "/token") if proof is True else proof} if proof else {}
        return self.http.post("/token", data=data | self.auth(assertion), headers=headers)

    def exchange(self, code: str, pkce: Pkce, **kwargs: Any) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.portal.redirect_uri}
        return self.token(data | {"code_verifier": pkce.verifier}, **kwargs)

    def refresh(self, refresh_token: str, **kwargs: Any) -> httpx.Response:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token}, **kwargs)


def keyed_portal(client: Any, provider: Any, key: ClientKey, profile: str = "fapi2", **spec: Any) -> KeyedPortal:
    portal = add_portal(
        provider, auth_method="private_key_jwt", jwks={"keys": [key.public_jwk]}, profile=profile, **spec
    )
    return KeyedPortal(client, provider, portal, key)


@pytest.fixture
def fapi(client, provider) -> KeyedPortal:
    """A portal registered with the fapi2 profile and an ES256 key."""
    return keyed_portal(client, provider, ClientKey("ES256"))


@pytest.fixture
def standard(client, provider) -> KeyedPortal:
    """The same kind of portal without the profile: what every other portal still gets."""
    return keyed_portal(client, provider, ClientKey("ES256"), profile="standard")


@pytest.fixture
def citizen(provider):
    return add_citizen(provider)
