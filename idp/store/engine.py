"""The engine and the schema: SQLite (WAL) for the embedded default, PostgreSQL in production.

The schema is owned by Alembic migrations from the first table; `migrate()` upgrades a
database to the latest revision and is safe to run on every start. A database already at the
newest revision is recognised without Alembic (its version row against the revision ids written
in the migration files), so a serving process never imports Alembic: ~11 MB of memory and the
larger part of a second at start-up.
"""

from __future__ import annotations

import os
import re
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


# A pooled PostgreSQL connection idle longer than this is pinged before use (HikariCP's rule).
# Pinging every checkout (pool_pre_ping) cost a round trip per request on the hot path; under load
# connections go back and out within milliseconds, and a database restart is caught by the ping
# of the first checkout that follows a quiet second.
PING_IDLE_AFTER = 1.0

# Connections the serving loop's PostgreSQL pool keeps: the units in flight at once on one loop
# (each holds one while it waits for the server), and as many handed from unit to unit
# (`Database._take_kept`).
LOOP_POOL_SIZE = 10

# How often a served process moves SQLite's write-ahead log into the database (`Database.checkpoint`).
SQLITE_CHECKPOINT_INTERVAL = 1.0

# SQLite's pool holds a connection for every thread that may use the database at once: anyio's
# worker threads (40 by default) and the password checks' own few. With fewer kept (SQLAlchemy's
# default is 5, plus 10 overflow), connections above five are closed at check-in and opened again
# under load, each running the five PRAGMAs below: 14% of a login's samples in one profile. Last
# in, first out, so a quiet process keeps reusing a few warm connections (and their page caches)
# instead of touching all of them in turn.
SQLITE_POOL_SIZE = 40
SQLITE_POOL_OVERFLOW = 10


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        create_private_sqlite_file(url)
        pool: dict[str, Any] = {}
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):  # a file: QueuePool
            pool = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_OVERFLOW, "pool_use_lifo": True}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, **_postgresql_options(url))
    _watch_idle(engine)
    return engine


def make_loop_engine(engine: Engine) -> AsyncEngine | None:
    """For a PostgreSQL engine on psycopg: the same database, pool and rules through psycopg's
    asyncio connections, for units run on a serving event loop (`Database.run_unit`); None for
    another driver (it keeps worker threads)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    from sqlalchemy.ext.asyncio import create_async_engine

    url = engine.url.render_as_string(hide_password=False)
    # Up to 20: its units interleave on one loop, so it needs a connection per unit in flight, not
    # per worker thread.
    # Autocommit throughout: a unit on the loop sends BEGIN itself when it first writes (`Database`).
    options = {
        **_postgresql_options(url),
        "pool_size": LOOP_POOL_SIZE,
        "max_overflow": 10,
        "isolation_level": "AUTOCOMMIT",
    }
    loop_engine = create_async_engine(url, **options)
    _watch_idle(loop_engine.sync_engine)
    return loop_engine


# A statement is prepared on the PostgreSQL server once it has run five times on a connection
# (psycopg's own default), and runs from then on without the server parsing and planning it again.
# Measured with bench/run.py --targets postgresql (its "store CPU" column: PostgreSQL's backends),
# the server's CPU a userinfo 0.143 -> 0.040 ms, a code exchange 0.33 -> 0.13, a refresh
# 0.39 -> 0.18, a login 2.9 -> 1.8 ms; the provider's own CPU unchanged. With two workers, which
# the server's CPU had starved, userinfo went 3,378 -> 4,735 a second. (Off until 2026-11-30's
# seventh stop, decided on the provider's CPU alone, which preparing does not change.) A pooler that
# hands a transaction to any server connection (PgBouncer in transaction mode before 1.21, or with
# max_prepared_statements = 0) loses them: `?prepare_threshold=none` on IDP_DATABASE_URL turns
# preparing off.
PREPARE_THRESHOLD = 5


def prepare_threshold(url: str) -> int | None:
    """The uses after which a statement is prepared on the server: `?prepare_threshold=N` of a
    PostgreSQL URL (psycopg's meaning: prepared once run N times; 0 at the first use), `none` never; else
    `PREPARE_THRESHOLD`. Raises ValueError for anything else."""
    value = make_url(url).query.get("prepare_threshold")
    if value is None:
        return PREPARE_THRESHOLD
    if isinstance(value, str) and value.lower() == "none":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():  # "²" is a digit int() refuses
        return int(value)
    raise ValueError(f"prepare_threshold must be a number of uses or none, got {value!r}")


def _postgresql_options(url: str) -> dict[str, Any]:
    # psycopg's `prepare_threshold` argument, given here as a number (or None): the URL's own query
    # reaches psycopg as a string, which this replaces.
    psycopg = make_url(url).get_driver_name() == "psycopg"
    connect_args = {"prepare_threshold": prepare_threshold(url)} if psycopg else {}
    return {"pool_size": 10, "max_overflow": 20, "connect_args": connect_args}


def _watch_idle(engine: Engine) -> None:
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine))


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
    if not _answers(engine, dbapi_connection):
        raise DisconnectionError("pooled connection is gone")  # the pool replaces it and retries


def _answers(engine: Engine, dbapi_connection: Any) -> bool:
    try:
        return bool(engine.dialect.do_ping(dbapi_connection))
    except Exception:
        return False


def alive(conn: Connection) -> bool:
    """Whether a connection held out of the pool still answers (a ping, as the pool makes)."""
    return _answers(conn.engine, conn.connection.dbapi_connection)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # No checkpoint by the connection that commits (SQLite's default, every 1,000 pages): that
    # commit would wait for the checkpoint's writes and fsync, and short writes run on the event
    # loop (`offload.unit`), where it stopped every request (p99 of code exchanges 90 ms -> 32 ms).
    # A served process checkpoints from a chore instead (`Database.checkpoint`); when the last
    # connection to the file closes, SQLite checkpoints what is left.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed, not left in free pages (Debian builds default to
    # it; other builds of SQLite do not).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


_REVISION = re.compile(r'^revision(?:\s*:\s*str)?\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?:\s*:[^=]+)?\s*=\s*(None|"[^"]+")', re.MULTILINE)


def newest_revision() -> str | None:
    """The head of the migration files, read from their text; None when a file does not say its
    revisions plainly or the chain has more than one head (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1) != "None":
            parents.add(down.group(1).strip('"'))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_newest_revision(engine: Engine) -> bool:
    """True only when the database records exactly the newest revision."""
    head = newest_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            recorded = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:  # no version table yet: an empty database
        return False
    return recorded == [head]


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent)."""
    if at_newest_revision(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
