"""Issue 13, item 10: PostgreSQL stopped under load. While it is down `/token` and `/authorize` answer
503 with Retry-After (never 500) and readiness says 503; once it is back, the same process serves
again without a restart. Runs on a private PostgreSQL server the test stops and starts."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from idp.settings import Settings
from tests.faults.servers import Served, idp_init, private_postgres, provider_env
from tests.helpers import Pkce, seed_served
from tests.ops.conftest import PASSWORD, REDIRECT_URI

pytestmark = pytest.mark.faults

OUTAGE = 3.0  # seconds PostgreSQL stays down
RECOVERY_LIMIT = 10.0  # seconds after it accepts connections again


class Load:
    """Threads sending /token (a bogus code: 400 when served) and /authorize (303) until stopped,
    recording (time, path, status, Retry-After)."""

    def __init__(self, base: str, client_id: str, secret: str) -> None:
        self.base, self.client_id, self.secret = base, client_id, secret
        self.answers: list[tuple[float, str, int, str | None]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(4)]

    def _one(self, http: httpx.Client, n: int) -> httpx.Response:
        if n % 2:
            return http.post(
                f"{self.base}/token",
                auth=(self.client_id, self.secret),
                data={
                    "grant_type": "authorization_code",
                    "code": "no-such-code",
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": Pkce().verifier,
                },
            )
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid",
                "state": "st",
                "nonce": "n",
                "code_challenge": Pkce().challenge,
                "code_challenge_method": "S256",
            }
        )
        return http.get(f"{self.base}/authorize?{query}")

    def _run(self, n: int) -> None:
        with httpx.Client(timeout=15) as http:
            while not self._stop.is_set():
                try:
                    answer = self._one(http, n)
                    row = (
                        time.monotonic(),
                        answer.request.url.path,
                        answer.status_code,
                        answer.headers.get("retry-after"),
                    )
                except httpx.TransportError as exc:
                    row = (time.monotonic(), "?", 0, type(exc).__name__)
                with self._lock:
                    self.answers.append(row)
                time.sleep(0.01)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)


def test_postgresql_stopped_under_load_is_503_with_retry_after_and_recovers_without_a_restart(
    tmp_path: Path, keys_dir: Path
):
    with private_postgres() as postgres:
        env = provider_env(tmp_path, keys_dir, postgres.url, tmp_path / "data")
        idp_init(env)
        client_id, secret = seed_served(Settings.from_env(env), PASSWORD, REDIRECT_URI)
        served = Served(env, tmp_path / "serve.log")
        served.start()
        try:
            with Load(served.url, client_id, secret) as load:
                time.sleep(1.0)
                stopped_at = time.monotonic()
                postgres.stop("fast")
                time.sleep(OUTAGE / 2)
                ready_while_down = httpx.get(f"{served.url}/readyz", timeout=10)
                time.sleep(OUTAGE / 2)
                postgres.start()
                back_at = time.monotonic()
                deadline = back_at + RECOVERY_LIMIT
                while time.monotonic() < deadline:
                    recent = [a for a in load.answers if a[0] > back_at and a[2] in (303, 400)]
                    if len(recent) >= 20:
                        break
                    time.sleep(0.1)
                time.sleep(0.5)
            ready_after = httpx.get(f"{served.url}/readyz", timeout=10)
        finally:
            served.stop()
    answers = load.answers
    before = Counter(a[2] for a in answers if a[0] < stopped_at)
    during = Counter(a[2] for a in answers if stopped_at <= a[0] < back_at)
    after = [a for a in answers if a[0] >= back_at]
    first_ok = next((a[0] for a in after if a[2] in (303, 400)), None)
    last_503 = max((a[0] for a in after if a[2] == 503), default=back_at)
    print(
        f"\nPostgreSQL restart under load: before {dict(before)}, down {dict(during)}, "
        f"after {dict(Counter(a[2] for a in after))}; first answer served {first_ok and first_ok - back_at:.2f} s "
        f"and last 503 {last_503 - back_at:.2f} s after PostgreSQL accepted connections again"
    )

    assert set(before) <= {303, 400} and before, before
    assert 500 not in {a[2] for a in answers} and 0 not in {a[2] for a in answers}, Counter(a[2] for a in answers)
    assert during[503] > 0
    assert all(a[3] == "5" for a in answers if a[2] == 503), "every 503 carries Retry-After"
    assert ready_while_down.status_code == 503
    assert first_ok is not None and first_ok - back_at < RECOVERY_LIMIT
    tail = [a[2] for a in after if a[0] > last_503]
    assert len(tail) >= 20 and set(tail) <= {303, 400}, "served again, by the same process"
    assert ready_after.status_code == 200
    log = (tmp_path / "serve.log").read_text()
    assert "Exception in ASGI application" not in log and "unexpected error" not in log
    assert 1 <= log.count("503 database_unavailable") <= 3, "one line per cause per 10 s, not one per request"
