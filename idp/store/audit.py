"""The audit trail: append-only events, each chained to the previous one's hash.

Appends are serialised through the single `audit_head` row: the first statement of an append
is a conditional UPDATE of that row, which takes the row's write lock (PostgreSQL) or the
database's write lock (SQLite), so two processes appending at once queue instead of forking
the chain. Inside a unit of work the events are appended together when the unit ends
(`Database.defer`): three statements for all of them (a login records two), and the head row
locked only from then to the commit. Pruning keeps the chain verifiable from the recorded
checkpoint (the sequence number and hash of the last event removed).

The hash itself is computed by the caller (`idp.core.audit`) through `hasher`, so the store only
keeps the chain, it does not define it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnElement, Integer, Text, bindparam, delete, func, select, update
from sqlmodel import Field, SQLModel

from idp.store.database import Database
from idp.store.tables import AnyRow, _epoch, table_of

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: int = _epoch(index=True)
    action: str = Field(max_length=64, index=True)
    outcome: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=100, index=True)
    subject: str | None = Field(default=None, max_length=100, index=True)
    client_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    detail: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row (id = 1): the last event's sequence number and hash."""

    __tablename__ = "audit_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """Where verification starts after a prune: the last removed event's seq and hash."""

    __tablename__ = "audit_checkpoint"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
    pruned_at: int = _epoch()


_event = table_of(AuditEvent)
_head = table_of(AuditHead)
_checkpoint = table_of(AuditCheckpoint)

# An append's three statements, built once with bind parameters (building and keying them cost
# more than running them on SQLite): take the head (the serialising lock) and as many sequence
# numbers as there are events, add the events, move the head's hash.
_TAKE_HEAD = (
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=_head.c.seq + bindparam("p_count"))
    .returning(_head.c.seq, _head.c.hash)
)
_ADD_EVENT = _event.insert()
_MOVE_HEAD = update(_head).where(_head.c.id == 1, _head.c.seq == bindparam("p_seq")).values(hash=bindparam("p_hash"))

FIELDS = ("seq", "at", "action", "outcome", "actor", "subject", "client_id", "ip", "user_agent", "detail")


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: int
    action: str
    outcome: str
    actor: str | None
    subject: str | None
    client_id: str | None
    ip: str | None
    user_agent: str | None
    detail: str
    prev_hash: str
    hash: str

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    subject: str | None = None
    outcome: str | None = None
    since: int | None = None
    until: int | None = None


def _row(row: AnyRow) -> AuditRow:
    return AuditRow(**{c.name: row._mapping[c.name] for c in _event.c})


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, values: dict[str, Any], hasher: Callable[[dict[str, Any], str], str]) -> None:
        """Append one event after the current head; `hasher(fields, prev_hash)` gives its hash.
        Inside a unit of work, when the unit ends (with the unit's other events); else now."""
        if not self._db.defer(self._append_all, (values, hasher)):
            self._append_all([(values, hasher)])

    def _append_all(self, events: list[tuple[dict[str, Any], Callable[[dict[str, Any], str], str]]]) -> None:
        with self._db.begin() as conn:
            # Taking the head row first serialises appends (row lock / SQLite write lock).
            taken = {"p_count": len(events)}
            head = conn.execute(_TAKE_HEAD, taken).first()
            if head is None:
                # The first event ever makes the head row. Another process may be making it too:
                # the key decides, and the UPDATE, run again after the winner commits, finds its row.
                conn.execute(self._db.insert_or_skip(_head).values(id=1, seq=0, hash=GENESIS))
                head = conn.execute(_TAKE_HEAD, taken).one()
            seq, prev_hash = head.seq - len(events), head.hash
            rows = []
            for values, hasher in events:
                seq += 1
                fields = dict(values, seq=seq)
                digest = hasher(fields, prev_hash)
                rows.append(dict(fields, prev_hash=prev_hash, hash=digest))
                prev_hash = digest
            conn.execute(_ADD_EVENT, rows)
            conn.execute(_MOVE_HEAD, {"p_seq": seq, "p_hash": prev_hash})

    def head(self) -> tuple[int, str]:
        with self._db.connect() as conn:
            row = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
        return (row.seq, row.hash) if row else (0, GENESIS)

    def checkpoint(self) -> tuple[int, str]:
        with self._db.connect() as conn:
            row = conn.execute(select(_checkpoint.c.seq, _checkpoint.c.hash).where(_checkpoint.c.id == 1)).first()
        return (row.seq, row.hash) if row else (0, GENESIS)

    def iterate(self, batch: int = 1000) -> Iterator[AuditRow]:
        """Every event in sequence order, in batches (the trail may be large)."""
        after = -1
        while True:
            with self._db.connect() as conn:
                rows = conn.execute(
                    select(_event).where(_event.c.seq > after).order_by(_event.c.seq).limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _row(row)
            after = rows[-1].seq

    def search(self, where: AuditFilter, limit: int = 100, offset: int = 0) -> list[AuditRow]:
        query = select(_event).where(*_conditions(where)).order_by(_event.c.seq.desc()).limit(limit).offset(offset)
        with self._db.connect() as conn:
            return [_row(r) for r in conn.execute(query).all()]

    def count(self, where: AuditFilter) -> int:
        with self._db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_event).where(*_conditions(where))).scalar_one())

    def prune_before(self, cutoff: int, now: int) -> int:
        """Remove events older than `cutoff` (a prefix of the chain), recording the checkpoint."""
        with self._db.begin() as conn:
            # Lock the head so no append interleaves with the checkpoint write.
            conn.execute(update(_head).where(_head.c.id == 1).values(seq=_head.c.seq))
            newest_seq = conn.execute(select(func.max(_event.c.seq))).scalar()
            first_kept = conn.execute(select(func.min(_event.c.seq)).where(_event.c.at >= cutoff)).scalar()
            if first_kept is None:
                # Keep at least the newest event so the head stays anchored to a row.
                first_kept = newest_seq
            if first_kept is None:
                return 0
            last_removed = conn.execute(
                select(_event.c.seq, _event.c.hash)
                .where(_event.c.seq < first_kept)
                .order_by(_event.c.seq.desc())
                .limit(1)
            ).first()
            if last_removed is None:
                return 0
            removed = conn.execute(delete(_event).where(_event.c.seq <= last_removed.seq)).rowcount
            existing = conn.execute(select(_checkpoint.c.id).where(_checkpoint.c.id == 1)).first()
            values = {"seq": last_removed.seq, "hash": last_removed.hash, "pruned_at": now}
            if existing:
                conn.execute(update(_checkpoint).where(_checkpoint.c.id == 1).values(**values))
            else:
                conn.execute(_checkpoint.insert().values(id=1, **values))
        return int(removed)


def _conditions(where: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for name in ("action", "actor", "subject", "outcome"):
        value = getattr(where, name)
        if value:
            conditions.append(_event.c[name] == value)
    if where.since is not None:
        conditions.append(_event.c.at >= where.since)
    if where.until is not None:
        conditions.append(_event.c.at < where.until)
    return conditions
