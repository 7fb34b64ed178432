"""Time comes in through one callable so that tests issue tokens "in the past" instead of patching
the clock of the whole process."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "system_clock"]

Clock = Callable[[], float]
"""Returns the current time as epoch seconds."""


def system_clock() -> float:
    return time.time()
