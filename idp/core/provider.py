"""`Provider`: everything the core needs, handed in once (settings, clock, randomness, store, keys, and
the two outbound calls a request waits for: the fetcher of client key sets and the population registry)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from idp.clock import Clock
from idp.core.registry import NoRegistry, PopulationRegistry
from idp.crypto.keys import KeyRing
from idp.crypto.passwords import PasswordHasher
from idp.crypto.randomness import RandomSource
from idp.crypto.sealing import SecretBox
from idp.delivery.client_jwks import JwksFetcher
from idp.settings import Settings
from idp.store.repositories import Store


@dataclass
class Provider:
    settings: Settings
    clock: Clock
    rng: RandomSource
    store: Store
    keys: KeyRing
    passwords: PasswordHasher
    secrets: SecretBox
    client_jwks: JwksFetcher
    # Called after a message is queued, so the outbox worker sends it without waiting to poll.
    wake_outbox: Callable[[], None] = field(default=lambda: None)
    # Checks a registration against the population registry (IDP_REGISTRY_BACKEND); off by default.
    registry: PopulationRegistry = field(default_factory=NoRegistry)

    @property
    def issuer(self) -> str:
        return self.settings.issuer
