"""Issue 12, attack 6: thirty wrong passwords sent at once must get no more hash checks than five sent
one after another (SQLite and PostgreSQL).

The attempt is reserved atomically before the hash is checked. The provider's password hasher is the
seam: a real argon2 hasher that counts the checks made against the account's stored hash and takes as
long as a production check (about 40 ms), so parallel requests overlap as they do in production.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from idp.core import limits, staff
from idp.core.authn import LoginFailed, verify_password
from idp.core.limits import TooManyAttempts
from idp.crypto.passwords import ARGON2_TESTS, PasswordHasher
from tests.security.conftest import password_failures

GUESSES = 30


class CountingHasher(PasswordHasher):
    """Counts checks against a real stored hash (not the decoy) and lasts like a production check."""

    def __init__(self) -> None:
        super().__init__(ARGON2_TESTS, workers=GUESSES)
        self.real_checks = 0
        self._lock = threading.Lock()

    def verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is not None:
            with self._lock:
                self.real_checks += 1
        time.sleep(0.04)
        return super().verify(stored_hash, password)


def test_thirty_parallel_wrong_passwords_get_at_most_five_hash_checks(provider, owner):
    citizen, _ = owner
    hasher = CountingHasher()
    provider.passwords = hasher
    barrier = threading.Barrier(GUESSES)

    def guess(n: int) -> str:
        barrier.wait()
        try:
            verify_password(provider, citizen.id_number, f"wrong guess {n}", f"198.51.100.{n}")
        except (LoginFailed, TooManyAttempts) as exc:
            return type(exc).__name__
        return "accepted"

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))

    assert "accepted" not in answers
    assert hasher.real_checks <= limits.PASSWORD_FREE_TRIES, (
        f"{hasher.real_checks} of {GUESSES} parallel guesses were checked against the hash"
    )
    assert password_failures(provider, citizen) <= limits.PASSWORD_FREE_TRIES


def test_thirty_parallel_wrong_staff_passwords_get_at_most_the_budgets_hash_checks(provider):
    staff.add_staff(provider, username="desk.clerk", roles=["clerk"], password="staff password long enough")
    hasher = CountingHasher()
    provider.passwords = hasher
    barrier = threading.Barrier(GUESSES)

    def guess(n: int) -> str:
        barrier.wait()
        try:
            staff.login(
                provider, " Desk.Clerk" if n % 2 else "desk.clerk", f"wrong {n}", "000000", ip=f"198.51.100.{n}"
            )
        except staff.StaffLoginFailed:
            return "refused"
        return "accepted"

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))

    assert set(answers) == {"refused"}
    assert hasher.real_checks <= staff.FAILURES_PER_USERNAME
