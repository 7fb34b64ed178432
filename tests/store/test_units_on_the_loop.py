"""Units of work run by `Database.run_unit` while a loop serves (`Database.serving`): on SQLite on
the event loop, on PostgreSQL in greenlets over the loop's own connections, which stay in autocommit
and begin a transaction at a unit's first write; units hand their connections on to each other.
The rules are those of any unit: all or nothing on
an unexpected failure, what came before a protocol refusal kept, reads see the unit's own writes,
and a unit's last write alone (`Database.last_write`) is atomic by itself."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import psycopg
import pytest

from idp.errors import InvalidGrant
from idp.store.engine import PING_IDLE_AFTER
from idp.store.repositories import Store
from tests.conftest import postgres_url
from tests.oidc.test_token_units import _consumed_elsewhere
from tests.store.test_store import _seed_code
from tests.store.test_unit_of_work import CODE, _grant_revoked

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("read_first", [True, False], ids=["read-then-writes", "writes-only"])
async def test_an_unexpected_failure_on_the_loop_undoes_every_write_of_the_unit(provider, database_url, read_first):
    portal = _seed_code(provider)
    now = provider.clock.now()

    def unit() -> None:
        if read_first:  # then the unit starts in autocommit and begins at its first write
            assert provider.store.grants.code_with_grant(CODE) is not None
        assert provider.store.grants.consume_code(CODE, portal.client_id, now) is not None
        provider.store.grants.revoke("g1", now)
        raise RuntimeError("the signer broke")

    async with provider.store.db.serving():
        with pytest.raises(RuntimeError):
            await provider.store.db.run_unit(unit)

    assert not _consumed_elsewhere(database_url)
    assert not _grant_revoked(provider)


async def test_a_refusal_on_the_loop_keeps_what_came_before_it_and_reads_see_own_writes(provider, database_url):
    portal = _seed_code(provider)
    now = provider.clock.now()
    seen: list[int | None] = []

    def unit() -> None:
        provider.store.grants.consume_code(CODE, portal.client_id, now)
        seen.append(provider.store.grants.code_with_grant(CODE)[0].consumed_at)
        provider.store.grants.revoke("g1", now)
        raise InvalidGrant("the code has expired")

    async with provider.store.db.serving():
        with pytest.raises(InvalidGrant):
            await provider.store.db.run_unit(unit)

    assert seen == [now]
    assert _consumed_elsewhere(database_url)
    assert _grant_revoked(provider)


async def test_a_last_write_on_the_loop_is_committed_when_the_unit_returns_and_one_of_racing_ones_wins(
    provider, database_url
):
    portal = _seed_code(provider)
    now = provider.clock.now()
    won: list[bool] = []

    def unit() -> None:
        assert provider.store.grants.code_with_grant(CODE) is not None  # a read first, as the token endpoint does
        won.append(provider.store.grants.redeem_code(CODE, portal.client_id, now, None))

    async with provider.store.db.serving(), anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(provider.store.db.run_unit, unit)

    assert sorted(won) == [False] * 7 + [True]
    assert _consumed_elsewhere(database_url)


def _backend(store: Store) -> Callable[[], int]:
    def pid() -> int:
        with store.db.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    return pid


async def test_a_postgresql_connection_kept_between_units_is_pinged_after_a_quiet_second():
    """Units on the loop hand their connection on instead of a pool check-in and checkout; one
    whose server side ended while it waited (a restart, an idle timeout) is replaced before a unit
    uses it, as the pool replaces its own (`engine.PING_IDLE_AFTER`)."""
    store = Store.open(postgres_url().replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        async with store.db.serving():
            first = await store.db.run_unit(_backend(store))
            assert store.db._serving_engine().pool.checkedout() == 1  # kept, not checked in
            assert await store.db.run_unit(_backend(store)) == first
            with psycopg.connect(postgres_url(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            await anyio.sleep(PING_IDLE_AFTER + 0.2)

            assert await store.db.run_unit(_backend(store)) != first
    finally:
        store.close()


async def test_no_postgresql_connection_stays_open_when_the_loop_stops_serving():
    store = Store.open(postgres_url().replace("postgresql://", "postgresql+psycopg://", 1))
    backends: list[int] = []

    async def unit() -> None:
        backends.append(await store.db.run_unit(_backend(store)))

    try:
        async with store.db.serving(), anyio.create_task_group() as group:
            for _ in range(4):  # interleaved: each unit holds its own connection
                group.start_soon(unit)
    finally:
        store.close()

    with psycopg.connect(postgres_url(), autocommit=True) as admin:
        for _ in range(40):  # a server process ends a moment after its client closed
            alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (backends,)).fetchone()
            if alive == (0,):
                break
            await anyio.sleep(0.05)
    assert alive == (0,)
