"""PostgreSQL prepares a statement once it has run five times on a connection (`engine.PREPARE_THRESHOLD`), on
the serving loop's connections and on the worker threads' alike, so the server stops parsing and
planning the hot reads again; `?prepare_threshold=none` on the URL (a pooler in transaction mode)
prepares nothing. Seen from the server: `pg_prepared_statements` of the connection."""

from __future__ import annotations

import asyncio

import pytest

from idp.errors import SettingsError
from idp.settings import Settings
from idp.store.engine import PREPARE_THRESHOLD
from idp.store.repositories import Store
from tests.helpers import add_citizen

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _prepared_after_reads(store: Store, citizen_id: str, reads: int, on_the_loop: bool) -> list[str]:
    """The statements prepared on the connection of one unit that read a citizen `reads` times."""

    def unit() -> list[str]:
        for _ in range(reads):
            assert store.citizens.get(citizen_id) is not None
        with store.db.connect() as conn:
            return list(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())

    async def run() -> list[str]:
        if not on_the_loop:  # in a worker thread, on the engine's own pool
            return await store.db.run_unit(unit, read_only=True)
        async with store.db.serving():  # the serving loop's asyncio connections
            return await store.db.run_unit(unit, read_only=True)

    return asyncio.run(run())


def _reads_the_citizen(statements: list[str]) -> bool:
    return any("FROM citizen" in statement for statement in statements)


@ON_POSTGRESQL
@pytest.mark.parametrize("on_the_loop", [True, False], ids=["serving loop", "worker thread"])
def test_a_read_run_five_times_on_a_connection_is_prepared_on_the_server(provider, on_the_loop):
    citizen, _ = add_citizen(provider)

    assert not _reads_the_citizen(_prepared_after_reads(provider.store, citizen.id, 1, on_the_loop))
    assert _reads_the_citizen(_prepared_after_reads(provider.store, citizen.id, PREPARE_THRESHOLD + 1, on_the_loop))


@ON_POSTGRESQL
@pytest.mark.parametrize("on_the_loop", [True, False], ids=["serving loop", "worker thread"])
def test_prepare_threshold_none_prepares_nothing(provider, database_url, on_the_loop):
    citizen, _ = add_citizen(provider)
    separator = "&" if "?" in database_url else "?"
    store = Store.open(f"{database_url}{separator}prepare_threshold=none")
    try:
        prepared = _prepared_after_reads(store, citizen.id, PREPARE_THRESHOLD * 3, on_the_loop)
    finally:
        store.close()

    assert prepared == []


@pytest.mark.parametrize("value", ["soon", "-1", "²", "5&prepare_threshold=6"])
def test_a_prepare_threshold_that_is_not_a_count_or_none_is_refused_at_start_up(value):
    with pytest.raises(SettingsError, match="IDP_DATABASE_URL: prepare_threshold"):
        Settings.from_env({"IDP_DATABASE_URL": f"postgresql://idp@db/idp?prepare_threshold={value}"})
