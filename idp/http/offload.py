"""Running the synchronous core off the event loop.

Database calls run in the default worker threads; password checks run under their own small
limiter so a login storm cannot take every worker thread from the token endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
from starlette.requests import Request

T = TypeVar("T")


async def core(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def password_work(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=request.app.state.password_limiter)
