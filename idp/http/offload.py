"""Running the synchronous core off the event loop.

Database calls run in the default worker threads; password checks run under their own small
limiter so a login storm cannot take every worker thread from the token endpoint. Short work on
SQLite is the exception (`read`, `unit`): it runs on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
from starlette.requests import Request

from idp.core.provider import Provider

T = TypeVar("T")


async def core(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def read(provider: Provider, fn: Callable[..., T], *args: Any) -> T:
    """`fn` in a read-only unit of work: on SQLite here, on the event loop; on PostgreSQL in a
    worker thread.

    A read from SQLite in WAL mode never waits for a writer and costs tens of microseconds, while
    the hop to a worker thread and back cost ~400 CPU-µs of a userinfo's ~1,000 under load (most
    of it threads handing the GIL around). The unit refuses writes, so a write added to such a
    path later fails in the tests instead of making the event loop wait for the writer lock. A
    PostgreSQL round trip would stop the loop, and every other request with it, for its whole
    length (more across a network), so there the read keeps its thread."""

    def run() -> T:
        with provider.store.db.read_only_unit():
            return fn(*args)

    if provider.store.db.is_sqlite:
        return run()
    return await anyio.to_thread.run_sync(run)


async def unit(provider: Provider, fn: Callable[..., T], *args: Any) -> T:
    """`fn` in one unit of work (reads and writes): on SQLite here, on the event loop; on
    PostgreSQL in a worker thread. Only for work that waits on nothing but the database: no
    network, no password hash.

    SQLite takes one writer at a time, and each statement releases the GIL: in worker threads a
    code exchange cost ~14 context switches (threads handing the GIL and the writer lock around)
    and ~1.06 ms of CPU; on the loop, none and ~0.69 ms, at 1.4x the exchanges a second. Nothing
    on the loop waits for a commit's fsync (synchronous=NORMAL, and the WAL is checkpointed by a
    chore, not by the committing connection: `Database.checkpoint`). What the loop can wait for
    is another writer: a worker thread's transaction in this process, or another process of
    `idp serve --workers N` (both queue on `Database`'s writer lock, milliseconds), or another
    program on the same file, such as the CLI (SQLite's busy timeout)."""

    def run() -> T:
        with provider.store.unit_of_work():
            return fn(*args)

    if provider.store.db.is_sqlite:
        return run()
    return await anyio.to_thread.run_sync(run)


async def password_work(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=request.app.state.password_limiter)
