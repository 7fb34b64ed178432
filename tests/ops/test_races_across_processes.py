"""Issue 12, attack 6 across processes: thirty wrong passwords posted at once through the login page,
spread over two provider processes on one database, get no more checks against the hash than
five sent one after another (SQLite and PostgreSQL).

The in-process race (tests/security/test_races.py) counts the hash checks with a counting hasher;
served processes keep their hasher to themselves, so this test reads what they leave behind in the
shared database: a try is reserved in the account's failure counter before its hash is checked,
and the audit trail names each refused try `password` (reserved, then checked against the hash) or
`blocked` (refused before any check). With the reservation atomic, at most the free tries were
checked, the counter holds exactly those, and the account then waits, so even the right password
is refused.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from idp.bootstrap import open_provider
from idp.core.authn import LOGIN
from idp.core.policy import PASSWORD_FREE_TRIES
from idp.settings import Settings
from tests.helpers import CITIZEN, Pkce
from tests.ops.conftest import PASSWORD, Cluster
from tests.ops.test_cross_process import _authorize, _login

GUESSES = 30


def _login_failures(cluster: Cluster) -> tuple[int, Counter[str]]:
    """The account's password failure counter, and the reasons of its audited login failures."""
    provider = open_provider(Settings.from_env(cluster.env))
    try:
        found = provider.store.citizens.find_for_login(CITIZEN.id_number, None)
        assert found is not None
        citizen = found[0]
        counted = provider.store.failures.state(citizen.id, "password").consecutive
        with provider.store.engine.connect() as conn:
            details = conn.execute(
                text(
                    "SELECT detail FROM audit_event WHERE subject = :s AND action = :a AND outcome = 'failure'"
                    " ORDER BY seq"
                ),
                {"s": f"citizen:{citizen.id}", "a": LOGIN},
            ).scalars()
            reasons = Counter(json.loads(d)["reason"] if isinstance(d, str) else d["reason"] for d in details)
    finally:
        provider.store.close()
    return counted, reasons


def test_thirty_parallel_wrong_passwords_over_two_processes_get_at_most_the_free_hash_checks(cluster: Cluster):
    barrier = threading.Barrier(GUESSES)

    def guess(n: int) -> int:
        base = cluster.urls[n % 2]
        with httpx.Client(timeout=60) as http:  # its own browser: no device cookie, no shared session
            interaction_url = _authorize(http, cluster, base, Pkce(), f"st-race-{n}")
            barrier.wait(timeout=60)
            return _login(http, base, interaction_url, f"wrong guess number {n}").status_code

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))
    counted, reasons = _login_failures(cluster)

    # A guess checked against the hash is a wrong password (401); one held back is told to wait (429).
    assert answers.count(401) == reasons["password"] and answers.count(429) == reasons["blocked"], answers
    assert sum(reasons.values()) == GUESSES and set(reasons) <= {"password", "blocked"}, reasons
    assert reasons["password"] <= PASSWORD_FREE_TRIES, (
        f"{reasons['password']} of {GUESSES} parallel guesses were checked against the hash"
    )
    assert counted == reasons["password"]

    with httpx.Client(timeout=10) as http:
        base = cluster.urls[1]
        right_password = _login(http, base, _authorize(http, cluster, base, Pkce(), "st-after"), PASSWORD)
    assert right_password.status_code == 429  # the account waits, whatever the password
    assert _login_failures(cluster)[1]["blocked"] == reasons["blocked"] + 1
