"""Issue 13: a provider process killed with SIGKILL in the middle of a registration burst. After a
restart the SQLite database passes `PRAGMA integrity_check`, the audit chain verifies, every
registration that was acknowledged (202) is stored, and no one's code was sent twice (counted in
the console sender's outbox.jsonl)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.servers import Served, provider_env
from tests.ops.conftest import IDP

pytestmark = pytest.mark.faults

BURST = 16  # under the per-IP daily send budget, so every registration sends its code
KILL_AFTER = 6  # acknowledged registrations


def _declaration(n: int) -> dict[str, str]:
    return {
        "citizen_id": f"001090{1000 + n:06d}",
        "full_name": "Nguyễn Văn An",
        "birth_date": "1990-05-01",
        "sex": "male",
        "phone": f"0912{300 + n:03d}777",  # a prefix of its own: the per-prefix SMS budget stays open
        "password": "a long enough test password",
    }


def _codes_sent(outbox: Path) -> Counter[str]:
    lines = outbox.read_text(encoding="utf-8").splitlines() if outbox.exists() else []
    return Counter(m["to"] for m in map(json.loads, lines) if m.get("purpose") == "register")


def test_a_worker_killed_during_a_registration_burst_loses_nothing_acknowledged_and_sends_no_code_twice(
    tmp_path: Path, keys_dir: Path
):
    data = tmp_path / "data"
    env = provider_env(tmp_path, keys_dir, f"sqlite:///{data}/idp.sqlite3", data)
    served = Served(env, tmp_path / "serve.log")
    served.start()
    acknowledged: dict[str, str] = {}  # flow id -> phone
    lock = threading.Lock()

    def register(n: int) -> None:
        try:
            answer = httpx.post(f"{served.url}/api/registrations", json=_declaration(n), timeout=15)
        except httpx.TransportError:
            return  # killed under it: not acknowledged
        if answer.status_code == 202:
            with lock:
                acknowledged[answer.json()["flow_id"]] = "+84" + _declaration(n)["phone"][1:]  # as sent

    try:
        with ThreadPoolExecutor(BURST) as pool:
            futures = [pool.submit(register, n) for n in range(BURST)]
            deadline = time.monotonic() + 30
            while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
                time.sleep(0.005)
            served.kill()
            for future in futures:
                future.result(timeout=30)
        acknowledged_at_kill = dict(acknowledged)
        served.start()  # the outbox worker sends what the killed process had queued
        outbox = data / "outbox.jsonl"
        deadline = time.monotonic() + 15
        while set(_codes_sent(outbox)) < set(acknowledged_at_kill.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.5)  # one more outbox poll: a duplicate would show now
    finally:
        served.stop()
    with sqlite3.connect(data / "idp.sqlite3") as db:
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        stored = {row[0] for row in db.execute("SELECT id FROM flow WHERE kind = 'register'")}
        queued = Counter(r[0] for r in db.execute("SELECT recipient FROM outbox WHERE purpose = 'register'"))
        # A message the killed process had claimed waits for its lease to run out (the outbox's rule,
        # so that a slow send is not repeated): it is not lost, but it is not sent within this test.
        leased = {
            r[0]
            for r in db.execute("SELECT recipient FROM outbox WHERE status = 'pending' AND claimed_until IS NOT NULL")
        }
    audit = subprocess.run([*IDP, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60)
    sent = _codes_sent(data / "outbox.jsonl")
    print(
        f"\nSIGKILL during a burst of {BURST}: {len(acknowledged_at_kill)} acknowledged, {len(stored)} stored,"
        f" codes sent per phone {dict(Counter(sent.values()))}, still leased to the killed process {len(leased)}"
    )

    assert len(acknowledged_at_kill) >= KILL_AFTER
    assert integrity == [("ok",)]
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert set(acknowledged_at_kill) <= stored, "an acknowledged registration was lost"
    assert all(queued[phone] == 1 for phone in acknowledged_at_kill.values()), "each code queued once"
    assert all(sent[phone] == 1 or phone in leased for phone in acknowledged_at_kill.values()), "a code was lost"
    assert max(sent.values()) == 1, f"a code was sent twice: {sent}"
