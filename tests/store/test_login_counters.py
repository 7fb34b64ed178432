"""The store under a login: SQLite's pool keeps its connections, attempt budgets expire in place,
and a password check never holds the database's writer lock while it hashes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event

from idp.core import limits
from idp.core.authn import LoginFailed, verify_password
from tests.helpers import add_citizen


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_keeps_a_connection_for_each_of_thirty_busy_threads_instead_of_reopening_them(provider):
    opened: list[int] = []
    event.listen(provider.store.engine, "connect", lambda *_: opened.append(1))

    def burst() -> None:
        """Thirty threads each holding a connection at the same moment (a barrier inside the
        checkout), as thirty worker threads serving at once do; a pool too small to keep them
        breaks the barrier or closes the extra ones when they come back."""
        barrier = threading.Barrier(30, timeout=10)

        def busy(_: int) -> None:
            with provider.store.engine.connect() as conn:
                barrier.wait()
                conn.exec_driver_sql("SELECT 1")

        with ThreadPoolExecutor(30) as pool:
            list(pool.map(busy, range(30)))

    burst()
    first_burst = len(opened)
    burst()

    assert first_burst >= 30
    assert len(opened) == first_burst, f"{len(opened) - first_burst} connections were opened again"


def test_an_expired_attempt_budget_counts_from_one_again_even_when_it_was_blocked(provider):
    now = provider.clock.now()
    budgets = provider.store.budgets
    for _ in range(limits.PASSWORD_FREE_TRIES):
        budgets.reserve("password:device:x", now, limits.password_delay, now + 60)
    assert budgets.reserve("password:device:x", now, limits.password_delay, now + 60)[0] is False

    counted, state = budgets.reserve("password:device:x", now + 61, limits.password_delay, now + 121)

    assert counted is True
    assert state.consecutive == 1 and state.blocked_until == 0 and not state.locked
    assert budgets.state("password:device:x", now + 61).consecutive == 1


def test_a_budget_reads_as_spent_until_it_expires_and_as_clear_from_then(provider):
    now = provider.clock.now()
    budgets = provider.store.budgets
    for _ in range(limits.PASSWORD_FREE_TRIES):
        budgets.reserve("password:device:y", now, limits.password_delay, now + 60)

    assert budgets.state("password:device:y", now + 59).consecutive == limits.PASSWORD_FREE_TRIES
    assert budgets.state("password:device:y", now + 60) == budgets.state("password:device:never-used", now)
    assert budgets.state("password:device:never-used", now).consecutive == 0


def test_a_password_check_never_holds_the_writer_lock_while_it_hashes(provider):
    citizen, _ = add_citizen(provider)
    real = provider.passwords
    written = threading.Event()

    class WritesWhileHashing:
        """A hasher that, mid-hash, waits for another thread to write to the database."""

        def verify(self, stored_hash, candidate):  # type: ignore[no-untyped-def]
            writer = threading.Thread(
                target=lambda: (provider.store.counters.hit("elsewhere", 60, provider.clock.now()), written.set())
            )
            writer.start()
            writer.join(timeout=5)
            return real.verify(stored_hash, candidate)

        def needs_rehash(self, stored_hash):  # type: ignore[no-untyped-def]
            return real.needs_rehash(stored_hash)

    provider.passwords = WritesWhileHashing()

    with pytest.raises(LoginFailed):
        verify_password(provider, citizen.id_number, "a wrong password", "192.0.2.1")

    assert written.is_set(), "another thread could not write while the password was hashed"
