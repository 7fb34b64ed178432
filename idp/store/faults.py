"""Which storage failures are the storage's and not the request's, so the web layer can answer 503.

A database that is down or restarting, or a disk that is full or read-only, is no fault of the
request: the client should come back later (503 with `Retry-After`), and a load balancer should
stop sending traffic (readiness). Anything else a driver raises (a constraint, a deadlock, a
syntax error) is a defect and stays a 500.

A storage fault (full or read-only) is remembered until a write succeeds again: a SELECT keeps
working on a full or read-only disk, so readiness cannot learn it from a ping. It tries a small
committed write instead (`probe_write`), and clears the fault when it goes through, except a full
disk beside a SQLite file with less than `FULL_BELOW` free: there a small write can fit into pages
SQLite's log already holds after a checkpoint while the next request's writes fail again.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, literal
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from idp.store.tables import RateCounter, table_of

log = logging.getLogger("idp.store")

# Causes, as metrics labels and log words.
DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_BUSY = "database_busy"
STORAGE_FULL = "storage_full"
STORAGE_READ_ONLY = "storage_read_only"
STORAGE_CAUSES = (STORAGE_FULL, STORAGE_READ_ONLY)

# PostgreSQL SQLSTATEs that mean the connection, not the statement, failed: class 08
# (connection exception) and the server shutting down, crashing or still starting (57P01-57P03).
_CONNECTION_LOST = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE = {
    "database or disk is full": STORAGE_FULL,
    "attempt to write a readonly database": STORAGE_READ_ONLY,
    "readonly database": STORAGE_READ_ONLY,
    "database is locked": DATABASE_BUSY,
    "unable to open database file": DATABASE_UNAVAILABLE,
    "disk i/o error": STORAGE_FULL,  # what SQLite says when the WAL cannot grow on a full disk
}
_OS = {errno.ENOSPC: STORAGE_FULL, errno.EDQUOT: STORAGE_FULL, errno.EROFS: STORAGE_READ_ONLY}
_PROBE_KEY = "readyz:write-probe"
FULL_BELOW = 1024 * 1024  # free bytes beside a SQLite file under which a remembered full disk stays full
_PROBE_KEEP_UNTIL = 4102444800  # one row, kept: housekeeping counts would change if it expired


@dataclass(frozen=True)
class Fault:
    cause: str
    detail: str


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, DBAPIError) and current.orig is not None:
            yield current.orig
        current = current.__cause__ or current.__context__


def _is_driver_error(exc: BaseException, name: str) -> bool:
    """A psycopg error by class name, without importing the driver."""
    return any(k.__module__.startswith("psycopg") and k.__name__ == name for k in type(exc).__mro__)


def _sqlite_cause(exc: BaseException) -> str | None:
    message = str(exc).lower()
    return next((cause for words, cause in _SQLITE.items() if words in message), None)


def _classify_one(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno in _OS:
        return _OS[exc.errno]
    if type(exc).__module__.startswith("sqlite3"):
        return _sqlite_cause(exc)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DATABASE_UNAVAILABLE
    if isinstance(exc, PoolTimeout):
        return DATABASE_BUSY  # every pooled connection busy for pool_timeout seconds
    if isinstance(exc, DisconnectionError):
        return DATABASE_UNAVAILABLE
    if _is_driver_error(exc, "InterfaceError"):
        return DATABASE_UNAVAILABLE  # "the connection is closed"
    if _is_driver_error(exc, "OperationalError"):
        state = getattr(exc, "sqlstate", None)
        if state is None or state.startswith(_CONNECTION_LOST):
            return DATABASE_UNAVAILABLE
    return None


def classify(exc: BaseException) -> Fault | None:
    """The storage fault behind `exc` (anywhere in its chain), or None when it is a defect."""
    for link in _chain(exc):
        cause = _classify_one(link)
        if cause is not None:
            return Fault(cause, f"{type(link).__name__}: {str(link).strip().splitlines()[0][:200]}")
    return None


class StorageFaults:
    """What the process knows about its storage: a full or read-only disk, remembered until a
    write succeeds. One per store; safe to use from any thread."""

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine = engine  # the store's current engine (tests swap it)
        self._lock = threading.Lock()
        self._storage: Fault | None = None
        self._probed = False

    def classify(self, exc: BaseException) -> Fault | None:
        """The fault behind `exc`; a full or read-only disk is remembered (and logged once)."""
        fault = classify(exc)
        if fault is not None and fault.cause == DATABASE_UNAVAILABLE and self._sqlite_folder_read_only():
            fault = Fault(STORAGE_READ_ONLY, fault.detail)  # SQLite cannot make its -shm there, so cannot open
        if fault is not None and fault.cause in STORAGE_CAUSES:
            self._remember(fault)
        return fault

    def _sqlite_folder_read_only(self) -> bool:
        url = self._engine().url
        if url.get_backend_name() != "sqlite" or not url.database:
            return False
        folder = os.path.dirname(os.path.abspath(url.database))
        try:
            return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
        except OSError:
            return False

    def _sqlite_folder_nearly_full(self) -> bool:
        """Less than `FULL_BELOW` bytes left beside a SQLite file: one small write can still go
        through there (into pages SQLite's log already holds), and the next one fail."""
        url = self._engine().url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return False
        try:
            return shutil.disk_usage(os.path.dirname(os.path.abspath(url.database))).free < FULL_BELOW
        except OSError:
            return False

    def _remember(self, fault: Fault) -> None:
        with self._lock:
            first = self._storage is None
            self._storage = fault
            self._probed = True
        if first:
            log.error("storage failing (%s): %s; answering 503 until a write succeeds", fault.cause, fault.detail)

    @property
    def needs_probe(self) -> bool:
        """Readiness writes when a fault is remembered, and once after start (a disk read-only from
        the start fails no request until the first write)."""
        return self._storage is not None or not self._probed

    @property
    def storage(self) -> Fault | None:
        """The remembered storage fault, if any."""
        return self._storage

    def probe_write(self) -> bool:
        """One small committed write; clears the remembered fault when it goes through."""
        counters = table_of(RateCounter)
        try:
            with self._engine().begin() as conn:
                updated = conn.execute(
                    counters.update().where(counters.c.key == _PROBE_KEY).values(count=counters.c.count + 1)
                ).rowcount
                if not updated:
                    conn.execute(
                        counters.insert().values(key=_PROBE_KEY, window_ends_at=literal(_PROBE_KEEP_UNTIL), count=1)
                    )
        except IntegrityError:
            pass  # another process inserted the probe row first: the database took a write all the same
        except Exception as exc:
            fault = self.classify(exc)
            if fault is None or fault.cause not in STORAGE_CAUSES:
                raise
            return False
        with self._lock:
            self._probed = True
            remembered = self._storage
        if remembered is not None and remembered.cause == STORAGE_FULL and self._sqlite_folder_nearly_full():
            return False  # still full: the probe fitted where the next request's writes may not
        with self._lock:
            if self._storage is not None:
                log.warning("storage writable again (was %s)", self._storage.cause)
            self._storage = None
        return True
