"""The two pieces of provider state the SDK keeps between calls: discovery and the JWKS.

Both are plain state machines that decide *whether* to fetch; the fetching happens in the
flows, so the same logic serves the sync and the async client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._jose import VerificationKey, verification_key_from_jwk
from .errors import InvalidProviderResponse
from .metadata import ProviderMetadata

__all__ = ["DiscoveryCache", "JwksCache", "parse_jwks"]


@dataclass
class DiscoveryCache:
    """Keeps the last good discovery document, fresh for its `max-age` and then kept as a stale
    fallback for when the provider is briefly unreachable."""

    metadata: ProviderMetadata | None = None
    fresh_until: float = 0.0

    def fresh(self, now: float) -> ProviderMetadata | None:
        return self.metadata if self.metadata is not None and now < self.fresh_until else None

    def store(self, metadata: ProviderMetadata, max_age: int, now: float) -> None:
        self.metadata = metadata
        self.fresh_until = now + max_age


@dataclass
class JwksCache:
    """The provider's signing keys, kept for the response's `max-age` (clamped to `bounds`; the
    default when there is none), refetched early when a token names a `kid` we don't have: that is
    how rotation is picked up without the developer doing anything."""

    default_max_age: float
    bounds: tuple[float, float]
    refetch_cooldown: float
    keys: tuple[VerificationKey, ...] = ()
    fetched_at: float | None = None
    fresh_until: float = 0.0

    def needs_fetch(self, now: float) -> bool:
        return self.fetched_at is None or now >= self.fresh_until

    def may_refetch(self, now: float, *, trusted: bool) -> bool:
        """`trusted`: the token came from the token endpoint, not from whoever can POST to us."""
        if self.fetched_at is None:
            return True
        if now <= self.fetched_at:  # fetched for this very token: a second look finds nothing new
            return False
        return trusted or now - self.fetched_at >= self.refetch_cooldown

    def store(self, document: Any, now: float, max_age: float) -> None:
        self.keys = parse_jwks(document)
        self.fetched_at = now
        low, high = self.bounds
        self.fresh_until = now + min(max(max_age, low), high)

    def find(self, kid: str | None, alg: str) -> VerificationKey | None:
        """With a `kid`, only that key; without one, the single key able to verify `alg`."""
        if kid is not None:
            return next((key for key in self.keys if key.kid == kid and key.allows(alg)), None)
        candidates = [key for key in self.keys if key.allows(alg)]
        return candidates[0] if len(candidates) == 1 else None


def parse_jwks(document: Any) -> tuple[VerificationKey, ...]:
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise InvalidProviderResponse("JWKS is not an object with a keys list")
    parsed = (verification_key_from_jwk(jwk) for jwk in document["keys"] if isinstance(jwk, Mapping))
    return tuple(key for key in parsed if key is not None)
