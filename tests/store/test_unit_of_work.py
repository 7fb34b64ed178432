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


# ---- audit events recorded inside a unit: appended together as it commits -------------------


def _actions(provider) -> list[str]:
    return [row.action for row in provider.store.audit.iterate()]


def test_audit_events_of_a_unit_are_stored_in_order_on_one_unbroken_chain(provider):
    from idp.core import audit

    audit.record(provider, action="before", outcome="success")
    with provider.store.unit_of_work():
        audit.record(provider, action="first", outcome="success")
        audit.record(provider, action="second", outcome="failure")
        assert "first" not in _actions(provider)  # still waiting for the unit's end
    audit.record(provider, action="after", outcome="success")

    rows = list(provider.store.audit.iterate())
    assert [r.action for r in rows] == ["before", "first", "second", "after"]
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    verdict = audit.verify(provider)
    assert verdict.ok and verdict.checked == 4 and verdict.head_seq == 4


def test_audit_events_of_a_unit_that_fails_unexpectedly_are_not_stored(provider):
    from idp.core import audit

    with pytest.raises(RuntimeError), provider.store.unit_of_work():
        audit.record(provider, action="lost", outcome="success")
        raise RuntimeError("the signer broke")
    audit.record(provider, action="kept", outcome="success")

    assert _actions(provider) == ["kept"]
    assert audit.verify(provider).ok


def test_audit_events_of_a_unit_ended_by_a_refusal_are_stored(provider):
    from idp.core import audit

    with pytest.raises(InvalidGrant), provider.store.unit_of_work():
        audit.record(provider, action="token.refused", outcome="failure")
        raise InvalidGrant("the code has expired")

    assert _actions(provider) == ["token.refused"]


def test_a_failing_append_at_a_units_end_undoes_the_unit(provider):
    """The events are written in the unit's transaction: if they cannot be, nothing of it stays."""
    portal = _seed_code(provider)
    now = provider.clock.now()

    def broken(_events):
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError, match="disk"), provider.store.unit_of_work():
        assert provider.store.grants.consume_code(CODE, portal.client_id, now) is not None
        assert provider.store.db.defer(broken, "event")

    assert provider.store.grants.consume_code(CODE, portal.client_id, now) is not None


def test_units_appending_audit_events_at_once_keep_one_chain(provider):
    from idp.core import audit

    def login(i):
        with provider.store.unit_of_work():
            audit.record(provider, action=f"login.{i}", outcome="success")
            audit.record(provider, action=f"session.{i}", outcome="success")
        return True

    assert all(_race(8, lambda: login(threading.get_ident())))

    rows = list(provider.store.audit.iterate())
    assert len(rows) == 16 and [r.seq for r in rows] == list(range(1, 17))
    for first, second in zip(rows[::2], rows[1::2], strict=True):  # each unit's two events side by side
        assert first.action.split(".")[1] == second.action.split(".")[1]
    assert audit.verify(provider).ok
