"""How the portal proves who it is at the token, revocation and introspection endpoints.

Each method returns the form fields and headers it adds; none of them touches the network.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote_plus

from ._jose import (
    PrivateKey,
    b64url_encode,
    default_algorithm,
    generate_private_key,
    key_algorithms,
    load_private_key,
    private_key_pem,
    public_jwk,
    sign,
)
from .defaults import ALLOWED_SIGNING_ALGORITHMS, CLIENT_ASSERTION_LIFETIME
from .errors import ConfigurationError

__all__ = [
    "AuthContext",
    "ClientAuth",
    "ClientSecretBasic",
    "ClientSecretPost",
    "NoClientAuth",
    "PrivateKeyJwt",
]

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class AuthContext:
    client_id: str
    issuer: str
    endpoint: str
    now: float
    entropy: Callable[[int], bytes] = secrets.token_bytes


class ClientAuth(Protocol):
    """A token endpoint authentication method (OIDC Core §9)."""

    @property
    def method(self) -> str:
        """The registered `token_endpoint_auth_method` name."""
        ...

    def credentials(self, context: AuthContext) -> tuple[dict[str, str], dict[str, str]]:
        """Form fields and headers to add to one back-channel request."""
        ...


@dataclass(frozen=True)
class ClientSecretBasic:
    """`client_secret_basic`: HTTP Basic, with id and secret form-urlencoded *before* base64
    (RFC 6749 §2.3.1), so a secret containing `:` or non-ASCII survives."""

    secret: str = field(repr=False)
    method: str = "client_secret_basic"

    def credentials(self, context: AuthContext) -> tuple[dict[str, str], dict[str, str]]:
        pair = f"{quote_plus(context.client_id)}:{quote_plus(self.secret)}"
        token = base64.b64encode(pair.encode("ascii")).decode("ascii")
        return {}, {"Authorization": f"Basic {token}"}


@dataclass(frozen=True)
class ClientSecretPost:
    """`client_secret_post`: id and secret in the form body."""

    secret: str = field(repr=False)
    method: str = "client_secret_post"

    def credentials(self, context: AuthContext) -> tuple[dict[str, str], dict[str, str]]:
        return {"client_id": context.client_id, "client_secret": self.secret}, {}


@dataclass(frozen=True)
class NoClientAuth:
    """`none`: a public client (a mobile or single-page app) that can keep no secret; PKCE alone
    binds the code to it."""

    method: str = "none"

    def credentials(self, context: AuthContext) -> tuple[dict[str, str], dict[str, str]]:
        return {"client_id": context.client_id}, {}


class PrivateKeyJwt:
    """`private_key_jwt` (RFC 7523 §2.2): a short-lived assertion signed with a key only the portal
    holds; the provider knows just the public half (see `public_jwks()`).

    `aud` is the issuer by default (what RFC 7523bis recommends, and what every provider accepts
    for the token endpoint too); pass `audience="token_endpoint"` or an explicit URL otherwise.
    """

    method = "private_key_jwt"

    def __init__(
        self,
        private_key: PrivateKey | str | bytes,
        *,
        algorithm: str | None = None,
        kid: str | None = None,
        audience: str | None = None,
        lifetime: int = CLIENT_ASSERTION_LIFETIME,
    ) -> None:
        self._key = load_private_key(private_key)
        natural = default_algorithm(self._key)  # refuses weak RSA and curves other than P-256
        self.algorithm = algorithm or natural
        self.algorithm_chosen = algorithm is not None
        if self.algorithm not in ALLOWED_SIGNING_ALGORITHMS or self.algorithm not in key_algorithms(self._key):
            raise ConfigurationError(f"this key cannot sign with {self.algorithm!r}")
        if not 0 < lifetime <= 300:
            raise ConfigurationError("assertion lifetime must be between 1 and 300 seconds")
        self._jwk = public_jwk(self._key, self.algorithm, kid)
        self.kid: str = self._jwk["kid"]
        self.audience = audience
        self.lifetime = lifetime

    def __repr__(self) -> str:
        return f"PrivateKeyJwt(kid={self.kid!r}, algorithm={self.algorithm!r})"

    @classmethod
    def generate(cls, algorithm: str = "ES256", **kwargs: Any) -> PrivateKeyJwt:
        """A new key pair; store `private_key_pem()` somewhere safe and register `public_jwks()`."""
        return cls(generate_private_key(algorithm), algorithm=algorithm, **kwargs)

    def with_algorithm(self, algorithm: str) -> PrivateKeyJwt:
        """The same key, `kid`, audience and lifetime, signing with another algorithm (an RSA key
        with PS256 instead of RS256)."""
        return PrivateKeyJwt(
            self._key, algorithm=algorithm, kid=self.kid, audience=self.audience, lifetime=self.lifetime
        )

    def private_key_pem(self) -> str:
        return private_key_pem(self._key)

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS to register with the provider for this client."""
        return {"keys": [dict(self._jwk)]}

    def credentials(self, context: AuthContext) -> tuple[dict[str, str], dict[str, str]]:
        if self.audience is None:
            audience = context.issuer
        elif self.audience == "token_endpoint":
            audience = context.endpoint
        else:
            audience = self.audience
        now = int(context.now)
        claims = {
            "iss": context.client_id,
            "sub": context.client_id,
            "aud": audience,
            "jti": b64url_encode(context.entropy(32)),
            "iat": now,
            "exp": now + self.lifetime,
        }
        assertion = sign(claims, self._key, self.algorithm, kid=self.kid)
        return {
            "client_id": context.client_id,
            "client_assertion_type": _ASSERTION_TYPE,
            "client_assertion": assertion,
        }, {}
