"""Provider processes for the operations tests: several `idp serve` on one database and keys folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from idp.settings import Settings
from tests.helpers import free_port, seed_served

IDP = [sys.executable, "-m", "idp.cli"]
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted
PASSWORD = "a long enough test password"


def idp(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*IDP, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)


def wait_ready(url: str, process: subprocess.Popen[str], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the provider at {url} did not become ready: {log.read_text()[-3000:]}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def served_env(tmp_path: Path, keys_dir: Path, issuer: str, database_url: str = "", **more: str) -> dict[str, str]:
    """The environment of an `idp serve` of the tests: this process's, without IDP_ settings of its
    own, on a copy of the session's keys, SQLite in `tmp_path` unless `database_url` is given, and no
    metrics listener (the default port is one per machine; tests run side by side)."""
    shutil.copytree(keys_dir, tmp_path / "keys", dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        IDP_ISSUER=issuer,
        IDP_DATA_DIR=str(tmp_path / "data"),
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'idp.sqlite3'}",
        IDP_PASSWORD_PROFILE="tests",
        IDP_METRICS_ADDRESS="",
    )
    env.update(more)
    return env


@dataclass
class Cluster:
    """Provider processes sharing one issuer, database and keys folder, each on its own port."""

    issuer: str
    urls: list[str]
    client_id: str
    client_secret: str
    env: dict[str, str]
    keys_dir: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)


@pytest.fixture
def cluster(tmp_path: Path, keys_dir: Path, database_url: str) -> Iterator[Cluster]:
    ports = [free_port(), free_port()]
    # The issuer is the public name in front of every process (the proxy in production).
    issuer = f"http://127.0.0.1:{ports[0]}"
    shared_keys = tmp_path / "keys"
    env = served_env(tmp_path, keys_dir, issuer, database_url, IDP_KEYS_RESCAN_INTERVAL="1", IDP_ACCESS_LOG="false")
    client_id, client_secret = seed_served(Settings.from_env(env), PASSWORD, REDIRECT_URI)
    found = Cluster(issuer, [f"http://127.0.0.1:{p}" for p in ports], client_id, client_secret, env, shared_keys)
    try:
        for port in ports:
            with open(tmp_path / f"serve-{port}.log", "w") as log:
                found.processes.append(
                    subprocess.Popen(
                        [*IDP, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log, text=True
                    )
                )
        for port, url, process in zip(ports, found.urls, found.processes, strict=False):
            wait_ready(url, process, tmp_path / f"serve-{port}.log")
        yield found
    finally:
        for process in found.processes:
            stop(process)
