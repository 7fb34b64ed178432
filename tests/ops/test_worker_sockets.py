"""`idp serve --workers N` spreads connections over its workers: each listens on a socket of its
own (SO_REUSEPORT, `idp.worker_sockets`). On one shared socket, a burst of keep-alive connections
(a portal's pool, wrk) was taken whole by the worker that woke first, and the other core idled."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from idp.worker_sockets import spreads_connections
from tests.helpers import free_port
from tests.ops.conftest import IDP, idp, served_env, stop, wait_ready

pytestmark = pytest.mark.skipif(not spreads_connections(), reason="SO_REUSEPORT spreads connections on Linux only")

BURST = 32  # all on one worker by chance: 2 in 2**32 starts


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[str]:
    with open(log, "w") as out:
        return subprocess.Popen(
            [*IDP, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
            text=True,
        )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


LISTEN, ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them


def _sockets_on(port: int, state: str) -> set[int]:
    """Socket inodes of the IPv4 TCP sockets in `state` whose local port is `port`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def _held_by(pid: int, inodes: set[int]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            held += 1
    return held


def test_a_burst_of_keep_alive_connections_is_spread_over_both_workers(tmp_path, keys_dir):
    port = free_port()
    env = served_env(tmp_path, keys_dir, f"http://127.0.0.1:{port}")
    assert idp(env, "init").returncode == 0
    process = _serve(env, port, tmp_path / "serve.log")
    connections: list[socket.socket] = []
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, tmp_path / "serve.log")
        deadline = time.monotonic() + 30  # the other worker may still be starting
        while len(listening := _sockets_on(port, LISTEN)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [pid for pid in _children(process.pid) if _held_by(pid, listening)]
        connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(BURST)]
        for conn in connections:  # each answered, and kept open
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for conn in connections:
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        established = _sockets_on(port, ESTABLISHED)
        held = {pid: _held_by(pid, established) for pid in workers}
    finally:
        for conn in connections:
            conn.close()
        stop(process)

    assert len(workers) == 2  # each listening on a socket of its own
    assert len(listening) == 2
    assert sum(held.values()) == BURST
    assert all(count > 0 for count in held.values()), held


def test_a_second_provider_on_the_same_port_is_refused_not_given_half_the_connections(tmp_path, keys_dir):
    port = free_port()
    env = served_env(tmp_path, keys_dir, f"http://127.0.0.1:{port}")
    assert idp(env, "init").returncode == 0
    first = _serve(env, port, tmp_path / "first.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}", first, tmp_path / "first.log")
        second = _serve(env, port, tmp_path / "second.log")
        try:
            code = second.wait(timeout=30)
        finally:
            stop(second)
    finally:
        stop(first)

    assert code != 0
    refusal = (tmp_path / "second.log").read_text().lower()
    assert "address already in use" in refusal  # the only listener: no metrics port here (served_env)
    assert "started server process" not in refusal  # refused by the supervisor, before any worker
