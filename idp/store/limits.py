"""Counters shared by every provider process: consecutive authentication failures per account,
attempt budgets under other keys (a known device, a flow), and fixed-window rate counters (sends
per phone, failures per IP...).

Increments are single upserts (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so parallel
requests on several processes can never both see the old value. A *reservation* spends a try
before the secret is checked: one conditional UPDATE that only succeeds on the row version it
read (compare and swap), so thirty parallel tries get exactly the free tries the policy allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable, Select, Table, bindparam, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp.store.database import Database, DialectInsert, by_dialect
from idp.store.raw_reads import RawRead
from idp.store.tables import AttemptBudget, AuthFailure, RateCounter, table_of

_failure = table_of(AuthFailure)
_counter = table_of(RateCounter)
_budget = table_of(AttemptBudget)

# A reservation that keeps losing the race (every loss means another try was counted) gives up
# and refuses: only reachable under a flood, where refusing is the right answer.
_RESERVE_ROUNDS = 200


def _insert(conn: Connection) -> DialectInsert:
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


@dataclass(frozen=True)
class _Reservable:
    """A table of try counters and its reservation's statements, built once with bind parameters:
    building a statement and its cache key cost more than running it on SQLite, and a login runs
    a dozen of these. `expiring`: rows past `expires_at` count as absent (an attempt budget), and
    are overwritten in place rather than deleted first."""

    expiring: bool
    read: Select[Any]
    add: dict[str, Executable]
    swap: Executable

    @classmethod
    def of(cls, table: Table, keys: tuple[str, ...], extra: str) -> _Reservable:
        where = [table.c[k] == bindparam(f"p_{k}") for k in keys]
        expiring = "expires_at" in table.c
        read_columns = [table.c.consecutive, table.c.blocked_until, table.c.locked]
        read = select(*read_columns, *([table.c.expires_at] if expiring else [])).where(*where)
        # Compare and swap on the row exactly as it was read, so of two racing tries one wins.
        swap_where = [
            *where,
            table.c.consecutive == bindparam("p_old_consecutive"),
            table.c.blocked_until == bindparam("p_old_blocked_until"),
            table.c.locked == bindparam("p_old_locked"),
        ]
        if expiring:
            swap_where.append(table.c.expires_at == bindparam("p_old_expires_at"))
        swap = (
            update(table)
            .where(*swap_where)
            .values(
                consecutive=bindparam("p_consecutive"),
                blocked_until=bindparam("p_blocked_until"),
                locked=bindparam("p_locked"),
                **{extra: bindparam(f"p_{extra}")},
            )
            .returning(table.c.consecutive)
        )
        add = by_dialect(lambda insert: insert(table).on_conflict_do_nothing().returning(table.c.consecutive))
        return cls(expiring, read, add, swap)

    def state_of(self, row: Mapping[str, Any] | None, now: int) -> FailureState | None:
        """The row's state (a `RawRead` mapping of `read`), or None for no row (or an expired one)."""
        if row is None or (self.expiring and row["expires_at"] <= now):
            return None
        return FailureState(row["consecutive"], row["blocked_until"], row["locked"])


_FAILURES = _Reservable.of(_failure, ("citizen_id", "kind"), "updated_at")
_BUDGETS = _Reservable.of(_budget, ("key",), "expires_at")


def _reserve(
    db: Database,
    spec: _Reservable,
    read: RawRead,
    key: Mapping[str, object],
    now: int,
    delay_for: DelayPolicy,
    extra: dict[str, object],
) -> tuple[bool, FailureState]:
    """Count one try unless the row is blocked or locked; (whether counted, the state after)."""
    where = {f"p_{k}": v for k, v in key.items()}
    for _ in range(_RESERVE_ROUNDS):
        with db.begin() as conn:
            row = read.first(conn, **where)
            before = spec.state_of(row, now)
            if before is not None and (before.locked or before.blocked_until > now):
                return False, before
            consecutive = (before.consecutive if before is not None else 0) + 1
            delay, lock = delay_for(consecutive)
            counted = {"consecutive": consecutive, "blocked_until": now + delay if delay else 0, "locked": lock}
            if row is None:
                won = conn.execute(spec.add[conn.dialect.name], {**key, **counted, **extra}).first()
            else:
                old = {
                    "p_old_consecutive": row["consecutive"],
                    "p_old_blocked_until": row["blocked_until"],
                    "p_old_locked": row["locked"],
                }
                if spec.expiring:
                    old["p_old_expires_at"] = row["expires_at"]
                values = {f"p_{k}": v for k, v in {**counted, **extra}.items()}
                won = conn.execute(spec.swap, {**where, **old, **values}).first()
            if won is not None:
                return True, FailureState(consecutive, now + delay if delay else 0, lock)
    state = spec.state_of(read.first(**where), now)
    return False, state if state is not None else FailureState(0, now + 1, False)


# The other statements a login runs, built once (see `_Reservable`).
_CLEAR_FAILURES = (
    update(_failure)
    .where(_failure.c.citizen_id == bindparam("p_citizen_id"), _failure.c.kind == bindparam("p_kind"))
    .values(consecutive=0, blocked_until=0, updated_at=bindparam("p_now"))
)
_CLEAR_FAILURES_AND_UNLOCK = _CLEAR_FAILURES.values(locked=False)
_CLEAR_BUDGET = delete(_budget).where(_budget.c.key == bindparam("p_key"))
_PEEK_COUNTER = select(_counter.c.count, _counter.c.window_ends_at).where(_counter.c.key == bindparam("p_key"))


def _hit(insert: DialectInsert) -> Executable:
    expired = _counter.c.window_ends_at <= bindparam("p_now")
    return (
        insert(_counter)
        .values(key=bindparam("p_key"), window_ends_at=bindparam("p_ends"), count=1)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case((expired, 1), else_=_counter.c.count + 1),
                "window_ends_at": case((expired, bindparam("p_ends")), else_=_counter.c.window_ends_at),
            },
        )
        .returning(_counter.c.count)
    )


_HIT_COUNTER = by_dialect(_hit)


class AuthFailures:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._read = RawRead(_FAILURES.read, db)

    def state(self, citizen_id: str, kind: str) -> FailureState:
        found = _FAILURES.state_of(self._read.first(p_citizen_id=citizen_id, p_kind=kind), now=0)  # rows never expire
        return found if found is not None else FailureState(0, 0, False)

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
        key = {"citizen_id": citizen_id, "kind": kind}
        return _reserve(self._db, _FAILURES, self._read, key, now, delay_for, {"updated_at": now})

    def reserve_decoy(self, kind: str, now: int) -> None:
        """What `reserve` runs for an account's first failure, for nobody: the same read and the same
        insert, which stores nothing, so a login for an account that does not exist runs the
        statements a wrong password does."""
        self._read.first(p_citizen_id=NOBODY, p_kind=kind)
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
        with self._db.begin() as conn:
            conn.execute(
                _CLEAR_FAILURES_AND_UNLOCK if unlock else _CLEAR_FAILURES,
                {"p_citizen_id": citizen_id, "p_kind": kind, "p_now": now},
            )


class AttemptBudgets:
    """Consecutive failures under a key that is not an account: a known device's password tries
    (`password:device:...`), a flow's code tries (`code:flow:...`). A row lives until `expires_at`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._read = RawRead(_BUDGETS.read, db)

    def state(self, key: str, now: int) -> FailureState:
        found = _BUDGETS.state_of(self._read.first(p_key=key), now)  # None once expired
        return found if found is not None else FailureState(0, 0, False)

    def reserve(self, key: str, now: int, delay_for: DelayPolicy, expires_at: int) -> tuple[bool, FailureState]:
        """Spend one try before the check (see `AuthFailures.reserve`). An expired row is a fresh
        budget, overwritten by the same compare and swap."""
        return _reserve(self._db, _BUDGETS, self._read, {"key": key}, now, delay_for, {"expires_at": expires_at})

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
            conn.execute(_CLEAR_BUDGET, {"p_key": key})

    def _forget_expired(self, key: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(delete(_budget).where(_budget.c.key == key, _budget.c.expires_at <= now))


class RateCounters:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._peek = RawRead(_PEEK_COUNTER, db)

    def hit(self, key: str, window: int, now: int) -> int:
        """Count one event in the window that holds `now`; returns the count including this one."""
        with self._db.begin() as conn:
            statement = _HIT_COUNTER[conn.dialect.name]
            return int(conn.execute(statement, {"p_key": key, "p_now": now, "p_ends": now + window}).scalar_one())

    def peek(self, key: str, now: int) -> int:
        row = self._peek.row(p_key=key)
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
