"""Background chores of a served process (key-folder checks, housekeeping): one loop for all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio.to_thread

log = logging.getLogger("idp.chores")


async def every(
    stop: asyncio.Event, interval: float, chore: Callable[[], object], *, what: str, first_after: float | None = None
) -> None:
    """Run `chore` off the event loop every `interval` seconds until `stop` is set (the first time
    after `first_after`, when given). A failure is logged and tried again next time, never raised:
    a chore must not take the process down."""
    delay = interval if first_after is None else first_after
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return
        except TimeoutError:
            pass
        delay = interval
        try:
            await anyio.to_thread.run_sync(chore)
        except Exception:
            log.exception("%s failed; will try again", what)
