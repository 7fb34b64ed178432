"""The engine and the schema: SQLite (WAL) for the embedded default, PostgreSQL in production.

The schema is owned by Alembic migrations from the first table; `migrate()` upgrades a
database to the latest revision and is safe to run on every start.
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

MIGRATIONS = Path(__file__).parent / "migrations"


# A pooled PostgreSQL connection idle longer than this is pinged before use (HikariCP's rule).
# Pinging every checkout (pool_pre_ping) cost a round trip per request on the hot path; under load
# connections go back and out within milliseconds, and a database restart is caught by the ping
# of the first checkout that follows a quiet second.
PING_IDLE_AFTER = 1.0


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        create_private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine))
    return engine


def create_private_sqlite_file(url: str) -> None:
    """Create the database file 0600 (its folder 0700) before SQLite does: SQLite gives the -wal and
    -shm files the database file's mode, and would create all three by the umask (often 0644)."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an existing database keeps its mode; `idp serve` warns when it is loose
    except OSError:
        pass  # a read-only or missing folder: SQLite says so when it opens, and the start-up check warns


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_IDLE_AFTER:
        return  # new, or back in the pool a moment ago
    try:
        alive = engine.dialect.do_ping(dbapi_connection)
    except Exception:
        alive = False
    if not alive:
        raise DisconnectionError("pooled connection is gone")  # the pool replaces it and retries


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed, not left in free pages (Debian builds default to
    # it; other builds of SQLite do not).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(engine), "head")
