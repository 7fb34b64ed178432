"""DPoP (RFC 9449): access and refresh tokens bound to a key the portal holds, so a stolen token
is useless without the key. One key per login (per citizen session), never per process: a leak of
one session's key binds nothing else.

The provider demands a server nonce (§8): the first request without one is refused with
`use_dpop_nonce` and a `DPoP-Nonce` header; the SDK remembers the nonce per origin and retries once.
Proofs are ES256 (the key the SDK makes), PS256 or EdDSA: never RS256, which PostID refuses.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._jose import (
    PrivateKey,
    b64url_encode,
    default_algorithm,
    generate_private_key,
    key_algorithms,
    private_jwk,
    private_key_from_jwk,
    public_jwk,
    sha256_b64url,
    sign_dpop_proof,
)
from .defaults import DPOP_ALGORITHMS
from .errors import ConfigurationError

__all__ = ["DPoPKey", "NonceMemory", "asks_for_nonce", "htu"]

_USE_NONCE = re.compile(r'error="use_dpop_nonce"')


class DPoPKey:
    """A DPoP key pair. `to_dict()` holds the private key: keep it server-side only (the
    `PostIDAuth` session store does), never in a cookie."""

    def __init__(self, private_key: PrivateKey, algorithm: str | None = None) -> None:
        self._key = private_key
        self.algorithm = algorithm or default_algorithm(private_key, rsa_algorithm="PS256")
        if self.algorithm not in DPOP_ALGORITHMS or self.algorithm not in key_algorithms(private_key):
            raise ConfigurationError(f"a DPoP key signs {' or '.join(DPOP_ALGORITHMS)}, not {self.algorithm!r}")
        self.thumbprint: str = public_jwk(private_key, self.algorithm)["kid"]  # RFC 7638, the `jkt`

    def __repr__(self) -> str:
        return f"DPoPKey(jkt={self.thumbprint!r})"

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> DPoPKey:
        return cls(generate_private_key(algorithm), algorithm)

    def to_dict(self) -> dict[str, Any]:
        return private_jwk(self._key, self.algorithm)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DPoPKey:
        alg = data.get("alg")
        return cls(private_key_from_jwk(data), alg if isinstance(alg, str) else None)

    def proof(
        self,
        method: str,
        url: str,
        *,
        now: float,
        nonce: str | None = None,
        access_token: str | None = None,
        entropy: Callable[[int], bytes] = secrets.token_bytes,
    ) -> str:
        """One proof for one request (§4.2); `access_token` adds `ath` for resource requests."""
        claims: dict[str, Any] = {
            "jti": b64url_encode(entropy(16)),
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(now),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = sha256_b64url(access_token)
        return sign_dpop_proof(claims, self._key, self.algorithm)


def htu(url: str) -> str:
    """§4.2: the request URI without query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class NonceMemory:
    """The last `DPoP-Nonce` each server gave (the provider and each resource server have their own)."""

    def __init__(self) -> None:
        self._nonces: dict[str, str] = {}

    def get(self, url: str) -> str | None:
        return self._nonces.get(origin(url))

    def remember(self, url: str, headers: Mapping[str, str]) -> str | None:
        nonce = headers.get("DPoP-Nonce")
        if nonce:
            self._nonces[origin(url)] = nonce
        return nonce


def asks_for_nonce(status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """A 400 `use_dpop_nonce` from an authorization server or a 401 challenge from a resource server."""
    if status == 401:
        return bool(_USE_NONCE.search(headers.get("WWW-Authenticate", "")))
    return status == 400 and b'"use_dpop_nonce"' in body
