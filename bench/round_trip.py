"""What one PostgreSQL statement costs this process in CPU time, by the path it takes.

Every PostgreSQL case of `bench/instructions.py --database postgresql` costs more than its SQLite
twin by about as many statements as it runs (~210-240 k instructions each, on uvloop): this script
says how much of that is the path the provider takes (a greenlet on the serving loop, SQLAlchemy's
pool and asyncio adapter, psycopg's asyncio connection), against psycopg's asyncio connection
alone and its blocking one. The statement is one small SELECT; the server's own CPU is not
counted.

    .venv/bin/python bench/round_trip.py            # $IDP_BENCH_DATABASE_URL, 3,000 statements a path
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
import uvloop
from sqlalchemy.util.concurrency import greenlet_spawn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idp.store.engine import make_engine, make_loop_engine
from idp.store.raw_reads import fetch_first

URL = os.environ.get("IDP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SQL = "SELECT %(a)s::int, now()"
COUNT = 3000
WARM_UP = 300


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def _time(name: str, one: Callable[[], Awaitable[object]]) -> None:
    for _ in range(WARM_UP):
        await one()
    user, system = _cpu()
    for _ in range(COUNT):
        await one()
    user_after, system_after = _cpu()
    print(
        f"{name:52s} {(user_after - user) / COUNT * 1e6:6.1f} µs user "
        f"{(system_after - system) / COUNT * 1e6:6.1f} µs system a statement",
        flush=True,
    )


async def main() -> None:
    loop_engine = make_loop_engine(make_engine(URL))
    assert loop_engine is not None, "a psycopg URL is needed"
    engine = loop_engine.sync_engine

    def unit() -> object:
        with engine.connect() as conn:
            return fetch_first(conn, SQL, {"a": 1})

    await _time("the provider's path (greenlet, pool, adapter, psycopg)", lambda: greenlet_spawn(unit))

    connection = await psycopg.AsyncConnection.connect(URL, autocommit=True, prepare_threshold=None)

    async def direct() -> object:
        async with connection.cursor() as cursor:
            await cursor.execute(SQL, {"a": 1})
            return await cursor.fetchone()

    await _time("psycopg's asyncio connection alone", direct)
    await connection.close()

    blocking = psycopg.connect(URL, autocommit=True, prepare_threshold=None)

    async def blocked() -> object:  # stops the loop for the round trip: for comparison only
        with blocking.cursor() as cursor:
            cursor.execute(SQL, {"a": 1})
            return cursor.fetchone()

    await _time("psycopg's blocking connection (stops the loop)", blocked)
    blocking.close()
    await loop_engine.dispose()


if __name__ == "__main__":
    uvloop.run(main())
