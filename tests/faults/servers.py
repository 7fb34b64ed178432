"""What the served fault tests run on: a private PostgreSQL server, a small tmpfs, and `idp serve`
processes started, killed and restarted by the test. Loopback only."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port
from tests.ops.conftest import IDP, stop, wait_ready


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        pytest.fail("no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return found[-1]


@dataclass
class PrivatePostgres:
    """A throw-away server of our own (never the shared one): the test stops and starts it."""

    folder: Path
    port: int
    bin: Path = field(default_factory=_postgres_bin)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def _as_owner(self, *command: str | Path) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []  # initdb refuses root
        return [*prefix, *map(str, command)]

    def _run(self, *command: str | Path) -> None:
        subprocess.run(self._as_owner(*command), check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(self.bin / "initdb", "-D", self.folder / "data", "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        self._run(
            self.bin / "pg_ctl",
            "-D",
            self.folder / "data",
            "-l",
            self.folder / "server.log",
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.folder / "data", "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    folder = Path(tempfile.mkdtemp(prefix="idp-fault-pg-"))
    if os.getuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PrivatePostgres(folder, free_port())
    try:
        server.init()
        yield server
    finally:
        try:
            server.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small filesystem of its own at `path`: it fills up, and it can be made read-only."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)])
    if mounted.returncode != 0:
        pytest.fail("mount -t tmpfs is not allowed here; the full-disk tests need it")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, timeout=30)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to free the space)."""
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


@dataclass
class Served:
    """One `idp serve` process, which the test may kill and start again on the same port."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.env['IDP_METRICS_ADDRESS']}/metrics"

    def start(self, ready: bool = True) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [*IDP, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
            )
        if ready:
            wait_ready(self.url, self.process, self.log)
        else:
            self.wait_answering()

    def wait_answering(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return
            except httpx.TransportError:
                assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the provider did not answer"
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def provider_env(tmp_path: Path, keys_dir: Path, database_url: str, data_dir: Path) -> dict[str, str]:
    own_keys = tmp_path / "keys"
    if not own_keys.exists():
        shutil.copytree(keys_dir, own_keys)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        IDP_DATA_DIR=str(data_dir),
        IDP_KEYS_DIR=str(own_keys),
        IDP_DATABASE_URL=database_url,
        IDP_PASSWORD_PROFILE="tests",
        IDP_ACCESS_LOG="false",
        IDP_LOG_FORMAT="text",
        IDP_METRICS_ADDRESS=f"127.0.0.1:{free_port()}",  # the Prometheus listener, apart from the public port
    )
    return env


def idp_init(env: dict[str, str]) -> None:
    done = subprocess.run([*IDP, "init"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
