"""Password hashing with argon2id, under named parameter profiles and a bounded number of slots.

Passwords are the only low-entropy secrets, so they alone pay for argon2. Each hash holds
`memory_cost` KiB while it runs; the semaphore caps how many run at once so a login storm
queues instead of exhausting memory. `when_idle` runs when the last hash in flight (or waiting
for a slot) ends: the served provider hands the freed buffers back to the system then, and keeps
them between the hashes of a burst (idp/runtime.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class Argon2Profile:
    time_cost: int
    memory_cost: int  # KiB
    parallelism: int


# OWASP's minimum for argon2id (about 40 ms a check on our machines): the default, so one
# core verifies ~25 logins a second. RFC 9106's low-memory profile is ~4x dearer.
ARGON2_OWASP = Argon2Profile(time_cost=2, memory_cost=19 * 1024, parallelism=1)
ARGON2_RFC9106_LOW_MEMORY = Argon2Profile(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# Cheap, for test suites only; start-up warns loudly when it is selected.
ARGON2_TESTS = Argon2Profile(time_cost=1, memory_cost=64, parallelism=1)

PROFILES = {
    "owasp": ARGON2_OWASP,
    "rfc9106-low-memory": ARGON2_RFC9106_LOW_MEMORY,
    "tests": ARGON2_TESTS,
}


class PasswordHasher:
    def __init__(self, profile: Argon2Profile, workers: int = 2, when_idle: Callable[[], object] | None = None) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=profile.time_cost,
            memory_cost=profile.memory_cost,
            parallelism=profile.parallelism,
            type=argon2.Type.ID,
        )
        self._slots = threading.BoundedSemaphore(workers)
        self._when_idle = when_idle
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        # Verified against when the account does not exist, so both answers cost the same.
        self._decoy: str | None = None
        self._decoy_lock = threading.Lock()

    def _decoy_hash(self) -> str:
        """Made by the first check, not at start-up: one argon2 hash (~40 ms and 19 MiB) off the
        path to a ready process. Every check takes it first, so the first one costs the same
        whether or not the account exists."""
        if self._decoy is None:
            with self._decoy_lock:
                if self._decoy is None:
                    self._decoy = self._hasher.hash("decoy password, never matches")
        return self._decoy

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            with self._slots:
                yield
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
                idle = self._in_flight == 0
            if idle and self._when_idle is not None:
                with contextlib.suppress(Exception):  # handing memory back never fails a login
                    self._when_idle()

    def hash(self, password: str) -> str:
        with self._slot():
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no stored hash, spends the same time and says False."""
        with self._slot():
            decoy = self._decoy_hash()
            try:
                return self._hasher.verify(stored_hash or decoy, password) and stored_hash is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
