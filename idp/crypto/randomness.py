"""The randomness seam: production draws from the OS CSPRNG; tests may inject a seeded source."""

from __future__ import annotations

import random as _random
import secrets
from typing import Protocol


class RandomSource(Protocol):
    def token_bytes(self, n: int) -> bytes: ...


class SystemRandom:
    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class SeededRandom:
    """Deterministic bytes for tests that need reproducible values. Never in production."""

    def __init__(self, seed: int) -> None:
        self._rng = _random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)
