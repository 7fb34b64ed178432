"""The only place the provider reads the time.

Everything that expires (codes, tokens, sessions) asks an injected `Clock`, so
tests move time with `FixedClock.advance()` instead of patching `time.time`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Seconds since the epoch, UTC."""
        ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: int = 1_800_000_000) -> None:
        self._now = start

    def now(self) -> int:
        return self._now

    def advance(self, seconds: int) -> None:
        self._now += seconds

    def set(self, epoch_seconds: int) -> None:
        self._now = epoch_seconds
