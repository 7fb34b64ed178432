"""One writer per SQLite file across the processes serving it: a write unit holds a file lock
beside the database, which another process queues on (the kernel wakes it when the lock is let go)
instead of SQLite's busy handler, which polls with sleeps of up to 100 ms."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time

from sqlalchemy import text

from idp.store.database import writer_lock_path
from idp.store.repositories import Store

# Another process on the same file: wait until the lock is free, report how long that took.
OTHER_PROCESS = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR)
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("free", flush=True)
    except BlockingIOError:
        print("held", flush=True)
    """
)


def _store(tmp_path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'writer.sqlite3'}")
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return store


def _asks(lock, during) -> str:
    """What another process finds the lock to be while `during` runs here."""
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline().strip() == "ready"
    answer: list[str] = []

    def ask() -> None:
        other.stdin.write("\n")  # type: ignore[union-attr]
        other.stdin.flush()  # type: ignore[union-attr]
        answer.append(other.stdout.readline().strip())  # type: ignore[union-attr]

    during(ask)
    other.wait(timeout=10)
    return answer[0]


def test_a_write_unit_holds_the_file_lock_until_it_commits(tmp_path):
    store = _store(tmp_path)
    lock = writer_lock_path(store.engine)
    try:

        def in_a_write_unit(ask) -> None:
            with store.unit_of_work(), store.db.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
                ask()

        assert _asks(lock, in_a_write_unit) == "held"
        assert _asks(lock, lambda ask: ask()) == "free"  # let go at the commit
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        store.close()


def test_reads_never_take_the_file_lock(tmp_path):
    store = _store(tmp_path)
    lock = writer_lock_path(store.engine)
    try:

        def in_a_read_unit(ask) -> None:
            with store.db.read_only_unit(), store.db.connect() as conn:
                conn.execute(text("SELECT count(*) FROM t"))
                ask()

        assert _asks(lock, in_a_read_unit) == "free"
    finally:
        store.close()


def test_a_second_process_writes_as_soon_as_the_first_lets_go(tmp_path):
    store = _store(tmp_path)
    lock = writer_lock_path(store.engine)
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another serving process in the middle of its write
    try:
        released_at = time.monotonic() + 0.3

        def release_later() -> None:
            time.sleep(max(0.0, released_at - time.monotonic()))
            fcntl.flock(fd, fcntl.LOCK_UN)

        threading.Thread(target=release_later).start()
        with store.db.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        waited_past_release = time.monotonic() - released_at

        assert waited_past_release >= 0  # it did wait for the other writer
        assert waited_past_release < 0.25  # and went on when it let go, not at a poll
    finally:
        os.close(fd)
        store.close()


def test_the_lock_file_is_private(tmp_path):
    umask = os.umask(0o022)  # even under a loose umask
    try:
        store = _store(tmp_path)
        assert stat.S_IMODE(writer_lock_path(store.engine).stat().st_mode) == 0o600
        store.close()
    finally:
        os.umask(umask)
