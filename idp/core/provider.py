"""`Provider`: everything the core needs, handed in once (settings, clock, randomness, store, keys, and
the fetcher of client key sets, the one outbound call a request waits for)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from idp.clock import Clock
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

    @property
    def issuer(self) -> str:
        return self.settings.issuer
