"""Counters shared by every provider process: consecutive authentication failures per account,
and fixed-window rate counters (sends per phone, failures per IP...).

Increments are single upserts (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so parallel
requests on several processes can never both see the old value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, case, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp.store.database import Database
from idp.store.tables import AuthFailure, RateCounter, table_of

_failure = table_of(AuthFailure)
_counter = table_of(RateCounter)


def _insert(conn: Connection) -> Callable[[Table], PgInsert | SqliteInsert]:
    """The connection's dialect's INSERT, the one that takes an ON CONFLICT clause."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


# A citizen id no account has (ids are UUID version 4; this one is version 0): decoy work is done for it.
NOBODY = "00000000-0000-0000-0000-000000000000"

# consecutive failures → (seconds to wait before the next try, whether to lock)
DelayPolicy = Callable[[int], tuple[int, bool]]


@dataclass(frozen=True)
class FailureState:
    consecutive: int
    blocked_until: int
    locked: bool


class AuthFailures:
    def __init__(self, db: Database) -> None:
        self._db = db

    def state(self, citizen_id: str, kind: str) -> FailureState:
        with self._db.connect() as conn:
            row = conn.execute(
                select(_failure).where(_failure.c.citizen_id == citizen_id, _failure.c.kind == kind)
            ).first()
        return FailureState(row.consecutive, row.blocked_until, row.locked) if row else FailureState(0, 0, False)

    def record(self, citizen_id: str, kind: str, now: int, delay_for: DelayPolicy) -> FailureState:
        """One more consecutive failure; the delay and lock follow from the new count."""
        with self._db.begin() as conn:
            insert = _insert(conn)
            consecutive = conn.execute(
                insert(_failure)
                .values(citizen_id=citizen_id, kind=kind, consecutive=1, blocked_until=0, locked=False, updated_at=now)
                .on_conflict_do_update(
                    index_elements=["citizen_id", "kind"],
                    set_={"consecutive": _failure.c.consecutive + 1, "updated_at": now},
                )
                .returning(_failure.c.consecutive)
            ).scalar_one()
            delay, lock = delay_for(consecutive)
            values: dict[str, object] = {}
            if delay:
                values["blocked_until"] = now + delay
            if lock:
                values["locked"] = True
            if values:
                conn.execute(
                    update(_failure)
                    .where(_failure.c.citizen_id == citizen_id, _failure.c.kind == kind)
                    .values(**values)
                )
        return FailureState(consecutive, now + delay if delay else 0, lock)

    def record_decoy(self, kind: str, now: int) -> None:
        """The upsert `record` runs, for nobody: it stores nothing, and costs what counting a failure
        costs, so a login for an account that does not exist takes as long as a wrong password."""
        nobody = {"citizen_id": NOBODY, "kind": kind, "consecutive": 1, "blocked_until": 0, "locked": False}
        nobody["updated_at"] = now
        with self._db.begin() as conn:
            conn.execute(
                _insert(conn)(_failure)
                .from_select(list(nobody), self._db.row_if(_failure, nobody, False))
                .on_conflict_do_update(
                    index_elements=["citizen_id", "kind"],
                    set_={"consecutive": _failure.c.consecutive + 1, "updated_at": now},
                )
                .returning(_failure.c.consecutive)
            ).first()

    def clear(self, citizen_id: str, kind: str, now: int, unlock: bool = False) -> None:
        values: dict[str, object] = {"consecutive": 0, "blocked_until": 0, "updated_at": now}
        if unlock:
            values["locked"] = False
        with self._db.begin() as conn:
            conn.execute(
                update(_failure).where(_failure.c.citizen_id == citizen_id, _failure.c.kind == kind).values(**values)
            )


class RateCounters:
    def __init__(self, db: Database) -> None:
        self._db = db

    def hit(self, key: str, window: int, now: int) -> int:
        """Count one event in the window that holds `now`; returns the count including this one."""
        with self._db.begin() as conn:
            insert = _insert(conn)
            expired = _counter.c.window_ends_at <= now
            return int(
                conn.execute(
                    insert(_counter)
                    .values(key=key, window_ends_at=now + window, count=1)
                    .on_conflict_do_update(
                        index_elements=["key"],
                        set_={
                            "count": case((expired, 1), else_=_counter.c.count + 1),
                            "window_ends_at": case((expired, now + window), else_=_counter.c.window_ends_at),
                        },
                    )
                    .returning(_counter.c.count)
                ).scalar_one()
            )

    def peek(self, key: str, now: int) -> int:
        with self._db.connect() as conn:
            row = conn.execute(select(_counter.c.count, _counter.c.window_ends_at).where(_counter.c.key == key)).first()
        # By position: type checkers read `row.count` as the sequence method Row also has.
        return int(row[0]) if row and row[1] > now else 0
