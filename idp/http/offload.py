"""Running the synchronous core off the event loop.

Database calls run in the default worker threads; password checks run in threads of their own
(`PasswordSlots`) so a login storm cannot take every worker thread from the token endpoint. Short
units of work are the exception (`read`, `unit`): on SQLite they run on the event loop, on
PostgreSQL in a greenlet that yields to the loop while the server answers (`Database.run_unit`).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
from starlette.requests import Request

from idp.core.provider import Provider

T = TypeVar("T")


async def core(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def read(provider: Provider, fn: Callable[..., T], *args: Any) -> T:
    """`fn` in a read-only unit of work that does not stop the event loop for the database
    (`Database.run_unit`: on SQLite on the loop, on PostgreSQL in a greenlet that yields to it).

    A read from SQLite in WAL mode never waits for a writer and costs tens of microseconds, while
    the hop to a worker thread and back cost ~400 CPU-µs of a userinfo's ~1,000 under load (most
    of it threads handing the GIL around). The unit refuses writes, so a write added to such a
    path later fails in the tests instead of making the event loop wait for the writer lock."""
    return await provider.store.db.run_unit(fn, *args, read_only=True)


async def unit(provider: Provider, fn: Callable[..., T], *args: Any) -> T:
    """`fn` in one unit of work (reads and writes) that does not stop the event loop for the
    database (`Database.run_unit`). Only for work that waits on nothing but the database: no
    network, no password hash.

    SQLite takes one writer at a time, and each statement releases the GIL: in worker threads a
    code exchange cost ~14 context switches (threads handing the GIL and the writer lock around)
    and ~1.06 ms of CPU; on the loop, none and ~0.69 ms, at 1.4x the exchanges a second. Nothing
    on the loop waits for a commit's fsync (synchronous=NORMAL, and the WAL is checkpointed by a
    chore, not by the committing connection: `Database.checkpoint`). What the loop can wait for
    is another writer: a worker thread's transaction in this process, or another process of
    `idp serve --workers N` (both queue on `Database`'s writer lock, milliseconds), or another
    program on the same file, such as the CLI (SQLite's busy timeout)."""
    return await provider.store.db.run_unit(fn, *args)


class PasswordSlots:
    """The threads password work runs in: `IDP_PASSWORD_WORKERS` of them, apart from the default
    worker threads, with the work waiting for one in their own queue.

    A thread that finishes a hash takes the next one from that queue itself. Behind a limiter on
    the default threads (until 2026-11) the next hash started only once the event loop had run
    the finished one's wake-up and the next waiter's hand-off, while it was also serving every
    other request: two argon2 threads stood idle ~12% of a login storm (bench/run.py's logins:
    78 a second against 108 for argon2 alone on two threads; 93 with these)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._threads: ThreadPoolExecutor | None = None  # made at the first use after start or `close`

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="idp-password")
        # In the caller's context, as the default threads run work (the request id in its logs).
        call = partial(contextvars.copy_context().run, partial(fn, *args, **kwargs))
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def close(self) -> None:
        """The threads end once idle (the app stopped); work not started is dropped, work under way
        finishes in its thread. A later `run` starts new ones."""
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)


async def password_work(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    slots: PasswordSlots = request.app.state.password_slots
    return await slots.run(fn, *args, **kwargs)
