"""Counters shared by every provider process: consecutive authentication failures per account,
attempt budgets under other keys (a known device, a flow), and fixed-window rate counters (sends
per phone, failures per IP...).

Increments are single upserts (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so parallel
requests on several processes can never both see the old value. A *reservation* spends a try
before the secret is checked: one conditional UPDATE that only succeeds on the row version it
read (compare and swap), so thirty parallel tries get exactly the free tries the policy allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Table, case, delete, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp.store.database import Database
from idp.store.tables import AttemptBudget, AuthFailure, RateCounter, table_of

_failure = table_of(AuthFailure)
_counter = table_of(RateCounter)
_budget = table_of(AttemptBudget)

# A reservation that keeps losing the race (every loss means another try was counted) gives up
# and refuses: only reachable under a flood, where refusing is the right answer.
_RESERVE_ROUNDS = 200


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


def _reserve(
    db: Database,
    table: Table,
    where: list[ColumnElement[bool]],
    new_row: dict[str, object],
    now: int,
    delay_for: DelayPolicy,
    extra: dict[str, object],
) -> tuple[bool, FailureState]:
    """Count one try unless the row is blocked or locked; (whether counted, the state after)."""
    for _ in range(_RESERVE_ROUNDS):
        with db.begin() as conn:
            row = conn.execute(select(table.c.consecutive, table.c.blocked_until, table.c.locked).where(*where)).first()
            if row is not None and (row.locked or row.blocked_until > now):
                return False, FailureState(row.consecutive, row.blocked_until, row.locked)
            consecutive = (row.consecutive if row is not None else 0) + 1
            delay, lock = delay_for(consecutive)
            counted = {"consecutive": consecutive, "blocked_until": now + delay if delay else 0, "locked": lock}
            if row is None:
                won = conn.execute(
                    _insert(conn)(table)
                    .values(**new_row, **counted, **extra)
                    .on_conflict_do_nothing()
                    .returning(table.c.consecutive)
                ).first()
            else:
                won = conn.execute(
                    update(table)
                    .where(
                        *where,
                        table.c.consecutive == row.consecutive,
                        table.c.blocked_until == row.blocked_until,
                        table.c.locked.is_(False),
                    )
                    .values(**counted, **extra)
                    .returning(table.c.consecutive)
                ).first()
            if won is not None:
                return True, FailureState(consecutive, now + delay if delay else 0, lock)
    with db.connect() as conn:
        row = conn.execute(select(table.c.consecutive, table.c.blocked_until, table.c.locked).where(*where)).first()
    return False, FailureState(row.consecutive, row.blocked_until, row.locked) if row else FailureState(
        0, now + 1, False
    )


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

    def reserve(self, citizen_id: str, kind: str, now: int, delay_for: DelayPolicy) -> tuple[bool, FailureState]:
        """Spend one try before the check (counted as a failure until `clear`); refused, and not
        counted, while the account must wait or is locked. Returns (whether counted, the state)."""
        where = [_failure.c.citizen_id == citizen_id, _failure.c.kind == kind]
        return _reserve(
            self._db, _failure, where, {"citizen_id": citizen_id, "kind": kind}, now, delay_for, {"updated_at": now}
        )

    def reserve_decoy(self, kind: str, now: int) -> None:
        """What `reserve` runs for an account's first failure, for nobody: the same read and the same
        insert, which stores nothing, so a login for an account that does not exist runs the
        statements a wrong password does."""
        with self._db.connect() as conn:
            conn.execute(
                select(_failure.c.consecutive, _failure.c.blocked_until, _failure.c.locked).where(
                    _failure.c.citizen_id == NOBODY, _failure.c.kind == kind
                )
            ).first()
        self.record_decoy(kind, now)

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


class AttemptBudgets:
    """Consecutive failures under a key that is not an account: a known device's password tries
    (`password:device:...`), a flow's code tries (`code:flow:...`). A row lives until `expires_at`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def state(self, key: str, now: int) -> FailureState:
        with self._db.connect() as conn:
            row = conn.execute(
                select(_budget.c.consecutive, _budget.c.blocked_until, _budget.c.locked).where(
                    _budget.c.key == key, _budget.c.expires_at > now
                )
            ).first()
        return FailureState(row.consecutive, row.blocked_until, row.locked) if row else FailureState(0, 0, False)

    def reserve(self, key: str, now: int, delay_for: DelayPolicy, expires_at: int) -> tuple[bool, FailureState]:
        """Spend one try before the check (see `AuthFailures.reserve`)."""
        self._forget_expired(key, now)
        return _reserve(
            self._db, _budget, [_budget.c.key == key], {"key": key}, now, delay_for, {"expires_at": expires_at}
        )

    def record(self, key: str, now: int, delay_for: DelayPolicy, expires_at: int) -> FailureState:
        """One more failure, counted even while blocked (for checks that cannot reserve)."""
        self._forget_expired(key, now)
        with self._db.begin() as conn:
            consecutive = conn.execute(
                _insert(conn)(_budget)
                .values(key=key, consecutive=1, blocked_until=0, locked=False, expires_at=expires_at)
                .on_conflict_do_update(
                    index_elements=["key"],
                    set_={"consecutive": _budget.c.consecutive + 1, "expires_at": expires_at},
                )
                .returning(_budget.c.consecutive)
            ).scalar_one()
            delay, lock = delay_for(consecutive)
            if delay or lock:
                conn.execute(
                    update(_budget)
                    .where(_budget.c.key == key)
                    .values(blocked_until=now + delay if delay else 0, locked=lock)
                )
        return FailureState(consecutive, now + delay if delay else 0, lock)

    def clear(self, key: str) -> None:
        with self._db.begin() as conn:
            conn.execute(delete(_budget).where(_budget.c.key == key))

    def _forget_expired(self, key: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(delete(_budget).where(_budget.c.key == key, _budget.c.expires_at <= now))


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

    def remaining(self, key: str, now: int) -> int:
        """Seconds left in the key's current window (0 when none is open): how long to wait."""
        with self._db.connect() as conn:
            ends = conn.execute(select(_counter.c.window_ends_at).where(_counter.c.key == key)).scalar()
        return max(int(ends) - now, 0) if ends is not None else 0

    def give_back(self, key: str, now: int) -> None:
        """Undo one `hit` of the current window (a reserved try that turned out to be right)."""
        with self._db.begin() as conn:
            conn.execute(
                update(_counter)
                .where(_counter.c.key == key, _counter.c.count > 0, _counter.c.window_ends_at > now)
                .values(count=_counter.c.count - 1)
            )
