"""Issue 12, attack 8: reset and login must not tell, by the work they do, whether an account exists.

The unknown-account path does the same work as the known one: the same database statements (so the same
round trips) and, where a password is checked, a decoy argon2 check. The work is counted exactly (the
statements the provider's engine runs, by kind and table); a wall-clock comparison of medians over
fifty interleaved tries each backs it up, with a tolerance wide enough for a shared two-core machine.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from idp.core import limits, reset
from idp.core.authn import LoginFailed, verify_password
from tests.helpers import add_citizen

UNKNOWN_ID = "079090000999"
TRIES = 80


@contextmanager
def statements(provider):
    """The statements the provider's engine runs inside the block, as (verb, table) pairs."""
    seen: Counter[tuple[str, str]] = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        words = statement.split()
        verb = words[0].upper() if words else ""
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
        seen[(verb, table.group(1) if table else "")] += 1

    event.listen(provider.store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(provider.store.engine, "before_cursor_execute", count)


@pytest.fixture
def holder(provider):
    """An account, without a served app: no outbox worker runs statements of its own meanwhile."""
    return add_citizen(provider)[0]


def _reset(provider, identifier):
    reset.start(provider, identifier, client_ip="192.0.2.1", lang="vi")


def _login(provider, identifier):
    with pytest.raises(LoginFailed):
        verify_password(provider, identifier, "a wrong password", "192.0.2.1")


def test_a_reset_for_an_unknown_id_number_runs_the_same_statements_as_for_a_known_one(provider, holder):
    citizen = holder
    _reset(provider, UNKNOWN_ID)  # the first audit event ever makes the trail's head row: not per account
    provider.clock.advance(limits.DAY + 1)

    with statements(provider) as known:
        _reset(provider, citizen.id_number)
    provider.clock.advance(limits.DAY + 1)
    with statements(provider) as unknown:
        _reset(provider, UNKNOWN_ID)

    assert unknown == known, f"known: {sorted(known.items())}\nunknown: {sorted(unknown.items())}"


def test_a_failed_login_for_an_unknown_id_number_runs_the_same_statements_as_for_a_known_one(provider, holder):
    citizen = holder
    # The first audit event ever makes the trail's head row: not per account. Another number than the
    # one measured: each identifier typed has its own count, whose first failure inserts its row.
    _login(provider, UNKNOWN_ID[:-1] + "8")

    with statements(provider) as known:
        _login(provider, citizen.id_number)
    with statements(provider) as unknown:
        _login(provider, UNKNOWN_ID)

    assert unknown == known, f"known: {sorted(known.items())}\nunknown: {sorted(unknown.items())}"


def _typical_ms(samples: list[float]) -> float:
    """The lower quartile: a constant extra cost on one path moves every quantile alike, while
    another process taking the core (the suite runs on two workers) only ever adds time, and adds
    it to whichever samples it hits; the median of 50 was moved 2x by that on a loaded machine."""
    return statistics.quantiles(samples, n=4)[0] * 1000


def test_a_reset_takes_as_long_for_an_unknown_id_number_as_for_a_known_one(provider, holder):
    citizen = holder
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    _reset(provider, UNKNOWN_ID)  # warm both paths
    _reset(provider, citizen.id_number)

    for _ in range(TRIES):
        for kind, identifier in (("known", citizen.id_number), ("unknown", UNKNOWN_ID)):
            provider.clock.advance(limits.DAY + 1)  # fresh send budgets each try
            started = time.perf_counter()
            _reset(provider, identifier)
            timings[kind].append(time.perf_counter() - started)

    known, unknown = _typical_ms(timings["known"]), _typical_ms(timings["unknown"])
    assert 0.75 <= unknown / known <= 1.33, f"lower-quartile reset: {known:.2f} ms known, {unknown:.2f} ms unknown"
