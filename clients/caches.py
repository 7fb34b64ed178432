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
    """The provider's signing keys, trusted for `lifespan` seconds, refetched early (at most once
    per `refetch_interval`) when a token names a `kid` we don't have: that is how rotation is
    picked up without the developer doing anything."""

    lifespan: float
    refetch_interval: float
    keys: tuple[VerificationKey, ...] = ()
    fetched_at: float | None = None

    def needs_fetch(self, now: float) -> bool:
        return self.fetched_at is None or now - self.fetched_at >= self.lifespan

    def may_refetch(self, now: float) -> bool:
        return self.fetched_at is None or now - self.fetched_at >= self.refetch_interval

    def store(self, document: Any, now: float) -> None:
        self.keys = parse_jwks(document)
        self.fetched_at = now

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
