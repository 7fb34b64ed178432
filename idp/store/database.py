"""`Database`: the engine as repositories see it, with a unit of work for hot paths.

Each repository method opens its own short transaction, which is right for pages and the
console. A back-channel request (a token exchange, userinfo) runs several of them in a row,
and on PostgreSQL every one costs a pool checkout with its ping, a BEGIN and a COMMIT or
ROLLBACK: three round trips around each statement. Inside `unit_of_work()` every repository
call in the same context (thread, or greenlet: `run_unit`) joins one connection and one
transaction instead.

What a unit keeps when it ends with an exception: a protocol refusal (`IdpError`, e.g. an
expired code after it was consumed, or a replayed code after its grant was revoked) commits
what was written before it, exactly as separate transactions would have; anything unexpected
rolls the whole unit back.

SQLite allows one writer at a time and makes the others poll with growing sleeps (its busy
handler: 1 to 100 ms), which is where the embedded store's tail latency came from. Writers
therefore queue on a lock here instead (`_Writer`): the threads of one process on a re-entrant
lock, the processes of `idp serve --workers N` on a file lock beside the database. Any other
process (the CLI) still meets SQLite's busy timeout.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Boolean, Connection, Engine, Executable, Select, Table, bindparam, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlalchemy.util import greenlet_spawn

from idp.errors import IdpError
from idp.store.engine import LOOP_POOL_SIZE, PING_IDLE_AFTER, alive, make_loop_engine

T = TypeVar("T")


class _Unit:
    """The open unit of a thread (or of a greenlet on the serving loop): its connection once a
    statement needs one, and whether it holds the SQLite writer lock."""

    def __init__(self, engine: Engine, begins_itself: bool = False, keeps: bool = False) -> None:
        self.engine = engine  # the one its connection comes from (`Database.run_unit`)
        # On the event loop: the connection comes from those kept between units (`Database._take_kept`).
        self.keeps = keeps
        # The serving loop's PostgreSQL connections stay in autocommit (`make_loop_engine`): a unit
        # sends BEGIN itself at its first write, and COMMIT or ROLLBACK at its end only if it did.
        # Switching a connection in and out of autocommit for each unit cost three driver calls.
        self.begins_itself = begins_itself
        self.conn: Connection | None = None
        self.writing = False
        self.reading_only = False  # PostgreSQL: autocommit until the first write
        self.read_only = False  # `read_only_unit`: a write is a defect
        # Writes a repository asked to make once, at the unit's end (`Database.defer`): flush -> items.
        self.deferred: dict[Callable[[list[Any]], None], list[Any]] = {}


class _Writer:
    """The one writer of a SQLite file: this process's threads queue on a re-entrant lock, and the
    thread holding it takes a file lock (flock) that the other processes serving the same file
    queue on. The kernel wakes the next holder when the lock is let go; SQLite's busy handler
    would poll instead, sleeping up to 100 ms between tries. flock and SQLite's own (POSIX
    byte-range) locks do not interact on Linux, and the lock file is never the database file:
    closing any descriptor of that file would drop the process's SQLite locks."""

    def __init__(self, lock_path: Path | None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        if lock_path is not None:
            try:
                self._fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                pass  # a read-only folder: no write will get through anyway, and SQLite says why

    def acquire(self) -> None:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._depth -= 1
                self._lock.release()
                raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def writer_lock_path(engine: Engine) -> Path | None:
    """Beside a SQLite database file, `<file>-writer`; None for PostgreSQL or memory."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + "-writer")


DialectInsert = Callable[[Table], postgresql.Insert | sqlite.Insert]


def by_dialect(build: Callable[[DialectInsert], Executable]) -> dict[str, Executable]:
    """One statement per dialect, built once at import: `build(insert)` with each dialect's INSERT
    (for ON CONFLICT); run the one for `conn.dialect.name`."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


# The open unit: per thread, and per greenlet when units run on the event loop (`run_unit`), since
# each has its own context. The database is kept beside it: a unit belongs to one `Database`.
_OPEN: ContextVar[tuple[Database, _Unit] | None] = ContextVar("idp_open_unit", default=None)


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.is_sqlite = engine.dialect.name == "sqlite"
        # Re-entrant: a write block may call a repository that opens another write block.
        self._writer = _Writer(writer_lock_path(engine)) if self.is_sqlite else None
        # PostgreSQL while an event loop serves (`serving`): that loop and the engine whose
        # connections it drives.
        self._loop_engine: tuple[asyncio.AbstractEventLoop, Engine] | None = None
        # Units on an event loop (`run_unit`) hand connections on to each other instead of a pool
        # checkout and check-in each (~80 k instructions, 5% of a SQLite userinfo; 60-90 µs of
        # CPU a PostgreSQL unit, `bench/round_trip.py`). SQLite's units run one after another:
        # one is kept. PostgreSQL's interleave in greenlets: up to the loop pool's size, each
        # unit taking its own. A unit that finds none uses a pooled one; a unit that ends with an
        # exception gives its connection back to the pool; a PostgreSQL connection kept idle for
        # `PING_IDLE_AFTER` is pinged before use, as the pool pings its own (`engine.py`).
        self._kept: list[tuple[Connection, float]] = []
        self._kept_lock = threading.Lock()
        self._keep_at_most = 1 if self.is_sqlite else LOOP_POOL_SIZE

    def _unit(self) -> _Unit | None:
        current = _OPEN.get()
        return current[1] if current is not None and current[0] is self else None

    def _joined(self, unit: _Unit, write: bool) -> Connection:
        if write and unit.read_only:
            raise RuntimeError("a write inside a read-only unit")
        if write and self._writer is not None and not unit.writing:
            self._writer.acquire()  # held until the unit ends: SQLite's write lock is held that long too
            unit.writing = True
        if unit.conn is None:
            unit.conn = self._take_kept(unit.engine) if unit.keeps else unit.engine.connect()
            if not write and not self.is_sqlite:
                # Reads before the first write need no BEGIN/COMMIT round trips; under READ
                # COMMITTED each statement takes its own snapshot either way.
                if not unit.begins_itself:
                    unit.conn.execution_options(isolation_level="AUTOCOMMIT")
                unit.reading_only = True
            elif unit.begins_itself:
                unit.conn.exec_driver_sql("BEGIN")
        elif write and unit.reading_only:
            if unit.begins_itself:
                unit.conn.exec_driver_sql("BEGIN")
            else:
                unit.conn.rollback()  # ends the (empty) autocommit block; nothing goes to the server
                unit.conn.execution_options(isolation_level=unit.conn.default_isolation_level)
            unit.reading_only = False
        return unit.conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction that commits when the block ends (or the unit's)."""
        unit = self._unit()
        if unit is not None:
            yield self._joined(unit, write=True)
            return
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._writer, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def last_write(self) -> Iterator[Connection]:
        """For one statement that is the unit's first and last write: on PostgreSQL it runs without
        BEGIN and COMMIT (a statement is atomic on its own, and durable when it returns), two round
        trips fewer; anywhere else (SQLite, outside a unit, after another write) it is `begin()`.
        A write after it is not atomic with it: only a write that follows a no-op (the spend lost
        a race) may come after.

        The token endpoint reads and checks everything and signs the tokens first, then spends the
        code or the refresh token with this one statement: nothing can fail between the spend and
        the answer but sending it."""
        unit = self._unit()
        if unit is None or self.is_sqlite or unit.read_only or (unit.conn is not None and not unit.reading_only):
            with self.begin() as conn:
                yield conn
            return
        yield self._joined(unit, write=False)  # stays in autocommit

    def defer(self, flush: Callable[[list[Any]], None], item: Any) -> bool:
        """Queue `item` for `flush(items)`, which the open unit runs once, with every item queued
        for it in order, just before it commits (and not when it rolls back): a repository whose
        writes serialise on one row (the audit trail's head) makes them together. False outside
        a unit, where nothing is queued and the caller writes at once."""
        unit = self._unit()
        if unit is None:
            return False
        unit.deferred.setdefault(flush, []).append(item)
        return True

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (the unit's, when one is open)."""
        unit = self._unit()
        if unit is not None:
            yield self._joined(unit, write=False)
            return
        with self.engine.connect() as conn:
            yield conn

    def _take_kept(self, engine: Engine) -> Connection:
        while True:
            # Never held across a wait: a PostgreSQL checkout or ping yields to the loop, where
            # another unit's greenlet, on this same thread, may come here.
            with self._kept_lock:
                taken = self._kept.pop() if self._kept else None  # the newest: the least idle
            if taken is None:
                return engine.connect()
            conn, since = taken
            if conn.closed or conn.invalidated or conn.engine is not engine:
                conn.close()  # another engine's (the store was pointed elsewhere), or no longer usable
                continue
            if not self.is_sqlite and time.monotonic() - since >= PING_IDLE_AFTER and not alive(conn):
                conn.invalidate()  # its server side ended (a restart, an idle timeout): the next one
                conn.close()
                continue
            return conn

    def _keep(self, conn: Connection) -> None:
        with self._kept_lock:
            if len(self._kept) < self._keep_at_most:
                self._kept.append((conn, time.monotonic()))
                return
        conn.close()  # enough are kept already

    def _close_kept(self) -> None:
        with self._kept_lock:
            kept, self._kept = self._kept, []
        for conn, _since in kept:
            conn.close()

    @contextmanager
    def unit_of_work(self, engine: Engine | None = None, *, keep_connection: bool = False) -> Iterator[None]:
        """Every store call in this context (this thread, or this greenlet on the serving loop) until
        the block ends shares one transaction. Nothing is
        taken until a statement runs: a request that never reaches the database costs nothing,
        and on SQLite the writer lock is taken only by the first write."""
        if self._unit() is not None:
            yield
            return
        unit = _Unit(
            engine or self.engine,
            begins_itself=engine is not None and engine is not self.engine,
            keeps=keep_connection,
        )
        opened = _OPEN.set((self, unit))
        try:
            yield
        except IdpError:
            self._end(unit, opened, commit=True)
            raise
        except BaseException:
            self._end(unit, opened, commit=False)
            raise
        else:
            self._end(unit, opened, commit=True)

    @contextmanager
    def read_only_unit(self, engine: Engine | None = None, *, keep_connection: bool = False) -> Iterator[None]:
        """A unit of work that may only read: any write in it raises before it takes a lock or a
        connection. For reads run on the event loop, where waiting for SQLite's writer lock would
        stop every other request."""
        if self._unit() is not None:
            raise RuntimeError("a read-only unit cannot be nested in another unit")
        with self.unit_of_work(engine, keep_connection=keep_connection):
            unit = self._unit()
            assert unit is not None
            unit.read_only = True
            yield

    async def run_unit(self, fn: Callable[..., T], *args: Any, read_only: bool = False) -> T:
        """`fn(*args)` in one unit of work, run without stopping the event loop for the database.

        SQLite: here, on the event loop (a unit is tens to hundreds of microseconds and waits for no
        server). PostgreSQL while this loop serves (`serving`): here too, in a greenlet whose
        driver calls yield to the loop while the server answers (SQLAlchemy's asyncio bridge over
        psycopg's async connection), so the repositories stay synchronous code. In a worker thread
        each round trip cost GIL hand-offs and context switches (~27 of them a userinfo) and held a
        thread. Otherwise (no serving loop: a test calling the app without its lifespan) in a
        worker thread, as before."""
        open_unit = self.read_only_unit if read_only else self.unit_of_work

        def run(engine: Engine | None = None, keep_connection: bool = False) -> T:
            with open_unit(engine, keep_connection=keep_connection):
                return fn(*args)

        if self.is_sqlite:
            return run(keep_connection=True)
        engine = self._serving_engine()
        if engine is not None:
            return await greenlet_spawn(run, engine, True)
        return await anyio.to_thread.run_sync(run)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """While the block runs, `run_unit` on this event loop talks to PostgreSQL through its own
        pool of asyncio connections (bound to this loop, closed when the block ends)."""
        loop_engine = None if self.is_sqlite else make_loop_engine(self.engine)
        if loop_engine is None:
            yield
            return
        self._loop_engine = (asyncio.get_running_loop(), loop_engine.sync_engine)
        try:
            yield
        finally:
            self._loop_engine = None
            await greenlet_spawn(self._close_kept)  # back to the pool (their check-in runs on this loop)
            await loop_engine.dispose()

    def _serving_engine(self) -> Engine | None:
        serving = self._loop_engine
        if serving is None:
            return None
        loop, engine = serving
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return engine if running is loop else None

    def _end(self, unit: _Unit, opened: Any, commit: bool) -> None:
        try:
            while commit and unit.deferred:  # still inside the unit: its connection, its transaction
                flush = next(iter(unit.deferred))
                flush(unit.deferred.pop(flush))
        except BaseException:
            commit = False
            raise
        finally:
            self._close(unit, opened, commit)

    def _close(self, unit: _Unit, opened: Any, commit: bool) -> None:
        _OPEN.reset(opened)
        try:
            if unit.conn is not None:
                keep = unit.keeps and commit
                try:
                    unit.conn.commit() if commit else unit.conn.rollback()
                except BaseException:
                    keep = False
                    raise
                finally:
                    self._keep(unit.conn) if keep else unit.conn.close()
        finally:
            if unit.writing and self._writer is not None:
                self._writer.release()

    def close(self) -> None:
        self._close_kept()
        if self._writer is not None:
            self._writer.close()

    def checkpoint(self) -> None:
        """SQLite: copy what the write-ahead log holds into the database file, without waiting for
        readers or writers (PASSIVE: what a reader still needs stays for the next time). Run by a
        chore of the served process, since no committing connection does it (`engine.py`)."""
        if not self.is_sqlite:
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def insert_or_skip(self, table: Table) -> Insert:
        """An INSERT that skips a row whose key exists instead of failing (inside a PostgreSQL
        transaction a failed statement would void the rest of the unit). It returns the primary
        key of the row it added, and no row when it skipped."""
        keys = table.primary_key.columns
        if self.dialect.name == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing().returning(*keys)
        return sqlite.insert(table).on_conflict_do_nothing().returning(*keys)

    @staticmethod
    def row_if(table: Table, values: dict[str, Any], write: bool) -> Select[Any]:
        """`values` as a one-row SELECT that yields the row only when `write` is true, for an
        `INSERT ... SELECT` (see `insert_if`)."""
        row = select(*(literal(v, table.c[c].type) for c, v in values.items()))
        return row.where(bindparam("write_row", write, type_=Boolean))

    def insert_if(self, table: Table, values: dict[str, Any], write: bool) -> Insert:
        """An INSERT of one row that adds it only when `write` is true, and is the same statement
        (one round trip, the same SQL) either way: a path that must write nothing, such as a reset
        for an account that does not exist, then costs what the real one costs."""
        return insert(table).from_select(list(values), self.row_if(table, values, write))
