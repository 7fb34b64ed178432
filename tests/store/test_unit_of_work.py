"""One transaction for a back-channel request: what it keeps, what it undoes, and that racing units
still have one winner (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import text

from idp.errors import InvalidGrant
from idp.store.engine import PING_IDLE_AFTER
from idp.store.repositories import Store
from tests.conftest import postgres_url
from tests.store.test_store import _race, _seed_code

CODE = "c" * 64


def _grant_revoked(provider) -> bool:
    grant = provider.store.grants.get("g1")
    return grant is not None and grant.revoked_at is not None


def test_an_unexpected_failure_undoes_everything_the_unit_wrote(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()

    with pytest.raises(RuntimeError), provider.store.unit_of_work():
        assert provider.store.grants.consume_code(CODE, portal.client_id, now) is not None
        provider.store.grants.revoke("g1", now)
        raise RuntimeError("the signer broke")

    assert provider.store.grants.consume_code(CODE, portal.client_id, now) is not None
    assert not _grant_revoked(provider)


def test_a_protocol_refusal_keeps_what_was_written_before_it(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()

    with pytest.raises(InvalidGrant), provider.store.unit_of_work():
        provider.store.grants.consume_code(CODE, portal.client_id, now)
        provider.store.grants.revoke("g1", now)
        raise InvalidGrant("the code has expired")

    assert provider.store.grants.consume_code(CODE, portal.client_id, now) is None
    assert _grant_revoked(provider)


def test_a_replayed_jti_inside_a_unit_leaves_the_unit_usable(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()
    provider.store.used_jtis.use("assertion:x:1", now + 60)

    with provider.store.unit_of_work():
        replay_accepted = provider.store.used_jtis.use("assertion:x:1", now + 60)
        consumed = provider.store.grants.consume_code(CODE, portal.client_id, now)

    assert replay_accepted is False
    assert consumed is not None
    assert provider.store.grants.code_with_grant(CODE)[0].consumed_at == now


def test_reads_inside_a_unit_see_its_own_writes(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()

    with provider.store.unit_of_work():
        provider.store.grants.consume_code(CODE, portal.client_id, now)
        seen = provider.store.grants.code_with_grant(CODE)

    assert seen is not None and seen[0].consumed_at == now


def test_of_eight_racing_units_consuming_one_code_exactly_one_wins(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()

    def exchange():
        with provider.store.unit_of_work():
            record = provider.store.grants.consume_code(CODE, portal.client_id, now)
            return record is not None and provider.store.grants.get(record.grant_id) is not None

    assert sorted(_race(8, exchange)) == [False] * 7 + [True]


def test_of_eight_racing_units_recording_one_jti_exactly_one_wins(provider):
    def use():
        with provider.store.unit_of_work():
            return provider.store.used_jtis.use("dpop:k:1", provider.clock.now() + 60)

    assert sorted(_race(8, use)) == [False] * 7 + [True]


def test_a_unit_that_only_reads_does_not_hold_back_another_threads_write(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()
    read_done, write_done = threading.Event(), threading.Event()

    def writer():
        read_done.wait(5)
        provider.store.grants.consume_code(CODE, portal.client_id, now)
        write_done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    with provider.store.unit_of_work():
        provider.store.grants.code_with_grant(CODE)
        read_done.set()
        finished_while_open = write_done.wait(5)
    thread.join()

    assert finished_while_open
    assert provider.store.grants.code_with_grant(CODE)[0].consumed_at == now


def test_the_store_reconnects_after_its_pooled_postgresql_connections_were_killed():
    store = Store.open(postgres_url().replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with store.engine.connect() as pooled:
            backend = pooled.execute(text("SELECT pg_backend_pid()")).scalar()
        # Back in the pool, its server side now ends (as in a database restart).
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        time.sleep(PING_IDLE_AFTER + 0.2)

        assert store.ping()
    finally:
        store.close()


def test_writes_after_reads_in_a_unit_are_still_undone_together(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()

    with pytest.raises(RuntimeError), provider.store.unit_of_work():
        provider.store.grants.code_with_grant(CODE)
        provider.store.grants.consume_code(CODE, portal.client_id, now)
        provider.store.grants.revoke("g1", now)
        raise RuntimeError("the signer broke")

    assert provider.store.grants.code_with_grant(CODE)[0].consumed_at is None
    assert not _grant_revoked(provider)


def test_writes_after_reads_in_a_unit_are_committed_when_it_ends(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()

    with provider.store.unit_of_work():
        provider.store.grants.code_with_grant(CODE)
        provider.store.grants.consume_code(CODE, portal.client_id, now)

    assert provider.store.grants.code_with_grant(CODE)[0].consumed_at == now


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_statements_are_never_prepared_on_the_server(provider):
    # A pooler in transaction mode (PgBouncer) hands each transaction another server connection,
    # where a statement prepared on the first one does not exist.
    with provider.store.unit_of_work():  # one connection for all of it
        for _ in range(8):  # psycopg's own default prepares a statement on its fifth use
            provider.store.grants.code_with_grant("d" * 64)
            provider.store.clients.get("nobody")
        with provider.store.db.connect() as conn:
            prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()

    assert prepared == 0
