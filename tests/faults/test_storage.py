"""Issue 13, item 11: the SQLite data folder full, or read-only from the start. Every write is a 503
with Retry-After (not a 500), readiness says 503 naming the cause, the log names it in one line,
and the provider serves again once the folder is writable, without a restart. The folder is a
small tmpfs of the test's own."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from idp.settings import Settings
from tests.faults.servers import Served, fill, idp_init, provider_env, remount, tmpfs
from tests.helpers import Pkce, seed_served
from tests.ops.conftest import PASSWORD, REDIRECT_URI

pytestmark = pytest.mark.faults


def _authorize(http: httpx.Client, base: str, client_id: str) -> httpx.Response:
    """Parks the request: a write."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "state": "st",
            "nonce": "n",
            "code_challenge": Pkce().challenge,
            "code_challenge_method": "S256",
        }
    )
    return http.get(f"{base}/authorize?{query}")


def _token(http: httpx.Client, base: str, client_id: str, secret: str) -> httpx.Response:
    return http.post(
        f"{base}/token",
        auth=(client_id, secret),
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43},
    )


def _until(check: object, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def _ready(base: str) -> httpx.Response:
    return httpx.get(f"{base}/readyz", timeout=10)


def test_a_full_data_folder_is_503_with_readiness_503_and_one_log_line_then_recovers(tmp_path: Path, keys_dir: Path):
    with tmpfs(tmp_path / "data", "8m") as data:
        env = provider_env(tmp_path, keys_dir, f"sqlite:///{data}/idp.sqlite3", data)
        idp_init(env)
        client_id, _ = seed_served(Settings.from_env(env), PASSWORD, REDIRECT_URI)
        served = Served(env, tmp_path / "serve.log")
        served.start()
        try:
            with httpx.Client(timeout=15) as http:
                assert _authorize(http, served.url, client_id).status_code == 303
                filler = fill(data)
                answers = [_authorize(http, served.url, client_id) for _ in range(60)]
                full = [a for a in answers if a.status_code == 503]
                ready_when_full = _ready(served.url)
                metrics = http.get(served.metrics_url).text
                filler.unlink()
                recovered = _until(lambda: _ready(served.url).status_code == 200)
                after = _authorize(http, served.url, client_id)
        finally:
            served.stop()
    log = (tmp_path / "serve.log").read_text()
    print(f"\nfull data folder: statuses {sorted({a.status_code for a in answers})}, {len(full)} of 60 were 503")

    assert {a.status_code for a in answers} <= {303, 503} and full, [a.status_code for a in answers]
    assert all(a.headers["retry-after"] == "5" for a in full)
    assert ready_when_full.status_code == 503
    assert ready_when_full.json()["checks"]["storage"] == "failing: storage_full"
    assert log.count("storage failing (storage_full)") == 1
    assert "Exception in ASGI application" not in log and "unexpected error" not in log
    assert recovered and after.status_code == 303
    assert 'idp_unavailable_total{cause="storage_full"}' in metrics


def test_a_read_only_data_folder_warns_at_start_and_is_503_until_it_is_writable(tmp_path: Path, keys_dir: Path):
    with tmpfs(tmp_path / "data", "8m") as data:
        env = provider_env(tmp_path, keys_dir, f"sqlite:///{data}/idp.sqlite3", data)
        idp_init(env)
        client_id, secret = seed_served(Settings.from_env(env), PASSWORD, REDIRECT_URI)
        remount(data, "ro")
        served = Served(env, tmp_path / "serve.log")
        served.start(ready=False)
        try:
            with httpx.Client(timeout=15) as http:
                ready_when_read_only = _ready(served.url)
                page = _authorize(http, served.url, client_id)
                token = _token(http, served.url, client_id, secret)
                metrics = http.get(served.metrics_url).text
                remount(data, "rw")
                recovered = _until(lambda: _ready(served.url).status_code == 200)
                after = _authorize(http, served.url, client_id)
        finally:
            served.stop()
    log = (tmp_path / "serve.log").read_text()

    assert "is read-only: every write will be answered 503" in log, log[-2000:]
    assert ready_when_read_only.status_code == 503
    assert ready_when_read_only.json()["checks"]["storage"] == "failing: storage_read_only"
    assert (
        page.status_code == 503 and page.headers["retry-after"] == "5" and "text/html" in page.headers["content-type"]
    )
    assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"
    assert 'idp_unavailable_total{cause="storage_read_only"}' in metrics
    assert log.count("storage failing (storage_read_only)") == 1
    assert "Exception in ASGI application" not in log and "unexpected error" not in log
    assert recovered and after.status_code == 303


def test_a_full_disk_stays_full_for_readiness_while_a_small_write_fits_but_little_room_is_left(
    tmp_path: Path, keys_dir: Path
):
    """After a checkpoint, SQLite writes into log pages it already holds: the probe's one small
    write can go through on a disk that has no room for the next request's. Readiness keeps the
    fault until the folder has room again."""
    import shutil

    from sqlalchemy import create_engine

    from idp.store.faults import FULL_BELOW, STORAGE_FULL, StorageFaults

    with tmpfs(tmp_path / "data", "8m") as data:
        env = provider_env(tmp_path, keys_dir, f"sqlite:///{data}/idp.sqlite3", data)
        idp_init(env)
        engine = create_engine(f"sqlite:///{data}/idp.sqlite3")
        faults = StorageFaults(lambda: engine)
        assert faults.probe_write()  # the probe row exists: the next probe is an UPDATE in place
        faults.classify(OSError(28, "database or disk is full"))
        assert faults.storage is not None and faults.storage.cause == STORAGE_FULL
        filler = data / "filler"
        filler.write_bytes(b"\0" * (shutil.disk_usage(data).free - FULL_BELOW // 2))

        still_full = faults.probe_write()
        filler.unlink()
        room_again = faults.probe_write()
        engine.dispose()

    assert still_full is False and room_again is True
    assert faults.storage is None
