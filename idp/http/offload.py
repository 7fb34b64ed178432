"""Running the synchronous core off the event loop.

Database calls run in the default worker threads; password checks run under their own small
limiter so a login storm cannot take every worker thread from the token endpoint. A read on
SQLite is the exception (`read`): it runs on the event loop.
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


async def password_work(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=request.app.state.password_limiter)
