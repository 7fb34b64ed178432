"""SQLite's write-ahead log: no commit waits for a checkpoint (short writes run on the event loop),
and a served process moves the log into the database file by itself."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from idp.app import create_app
from idp.store.repositories import Store

PAGES = 1500  # more than SQLite's default checkpoint point (1,000 pages)


def _write_pages(store: Store, pages: int = PAGES) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS ballast (b BLOB)"))
    for _ in range(pages // 50):  # many commits, as a busy provider makes them; a row a page
        with store.engine.begin() as conn:
            for _ in range(50):
                conn.execute(text("INSERT INTO ballast VALUES (randomblob(4000))"))


def _files(url: str) -> tuple[Path, Path]:
    database = Path(url.removeprefix("sqlite:///"))
    return database, database.with_name(database.name + "-wal")


def test_commits_leave_the_log_to_the_checkpoint_chore(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    store = Store.open(url)
    database, log = _files(url)
    try:
        _write_pages(store)
        # With SQLite's default, a commit past 1,000 pages would have copied them back and the
        # log would be reused from its start: it would stay near 1,000 pages.
        assert log.stat().st_size > PAGES * 4096
        size_before = database.stat().st_size

        store.db.checkpoint()

        assert database.stat().st_size > size_before + PAGES * 4000
        with store.engine.connect() as conn:
            busy, in_log, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        assert busy == 0 and in_log == copied
    finally:
        store.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL has no such log to tend
def test_a_served_process_checkpoints_without_being_asked(settings, provider):
    database, _ = _files(settings.effective_database_url)
    with TestClient(create_app(provider)):
        _write_pages(provider.store)
        size_before = database.stat().st_size
        deadline = time.monotonic() + 10  # the chore runs every second
        while database.stat().st_size < size_before + PAGES * 4000 and time.monotonic() < deadline:
            time.sleep(0.1)

        assert database.stat().st_size >= size_before + PAGES * 4000


def test_the_log_is_folded_in_when_the_last_connection_closes(tmp_path):
    url = f"sqlite:///{tmp_path / 'closed.sqlite3'}"
    store = Store.open(url)
    _write_pages(store)
    store.close()

    database, log = _files(url)
    assert not log.exists() or log.stat().st_size == 0
    assert database.stat().st_size > PAGES * 4000
