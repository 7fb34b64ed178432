"""The outbox: messages waiting to leave, so a crash never loses a send and a slow gateway never
slows a page.

A request only inserts a row; a worker claims due rows with a lease, sends them, and finishes
them. The lease (`claimed_until` plus a `claim_token` only its holder knows) is what keeps two
provider processes from sending one message twice, and what lets a message whose worker died
mid-send be picked up again once the lease runs out. The worker claims one message at a time,
so the lease it holds is always the one it took just before this send (a batch of slow sends
outlived its lease, and a second process sent the rest again).

The text and the code are never written in clear, not even while the message waits: they are
sealed (`sealed`, under the sealing key kept outside the database) and opened only in the
worker's memory. Erasing a clear row later was not enough: SQLite's WAL and PostgreSQL's dead
row versions kept every code that had passed through. A finished row keeps the redacted text.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Column, ColumnElement, Index, Integer, Text, and_, or_, select, update
from sqlmodel import Field, SQLModel

from idp.store.database import Database
from idp.store.tables import AnyRow, _epoch, table_of

PENDING = "pending"
SENT = "sent"
FAILED = "failed"

ERROR_MAX_LENGTH = 500


class OutboxMessage(SQLModel, table=True):
    """One message on its way out; `status` is pending until it is sent or given up on."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=36)
    channel: str = Field(max_length=8)  # sms | email
    recipient: str = Field(max_length=254)  # E.164 phone or email address
    purpose: str = Field(max_length=16)
    subject: str | None = Field(default=None, max_length=200)
    # Written by releases before 0007 only; read while such a row may still be waiting.
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    code: str | None = Field(default=None, max_length=16)
    sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # text + code; erased once finished
    give_up_at: int | None = _epoch(nullable=True)  # a code's expiry: never sent after it
    replaces: str | None = Field(default=None, max_length=80, index=True)  # a newer message with this key drops it
    redacted_text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=8)
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: int = _epoch()
    claimed_until: int | None = _epoch(nullable=True)
    claim_token: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=ERROR_MAX_LENGTH)
    created_at: int = _epoch()
    finished_at: int | None = _epoch(nullable=True)


class Sealer(Protocol):
    """What the outbox seals with (`idp.crypto.sealing.SecretBox` has this shape)."""

    def seal(self, plaintext: str, context: str) -> str: ...
    def unseal(self, sealed: str, context: str) -> str: ...


class Outgoing(Protocol):
    """What `enqueue` reads from a message (`idp.delivery.Message` has this shape); the store
    stays below the delivery package instead of importing it."""

    @property
    def channel(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def code(self) -> str | None: ...
    @property
    def redacted_text(self) -> str: ...


@dataclass(frozen=True)
class OutboxRecord:
    """A row as the worker sees it. `text` and `code` are None once the message is finished."""

    id: str
    channel: str
    to: str
    purpose: str
    subject: str | None
    redacted_text: str
    status: str
    attempts: int
    next_attempt_at: int
    claimed_until: int | None
    last_error: str | None
    created_at: int
    finished_at: int | None
    give_up_at: int | None = None
    text: str | None = field(default=None, repr=False)
    code: str | None = field(default=None, repr=False)
    claim_token: str | None = field(default=None, repr=False)


_outbox = table_of(OutboxMessage)


def _context(message_id: str, recipient: str) -> str:
    """Sealed for this row and this recipient: copied into another row, it does not open."""
    return f"outbox:{message_id}:{recipient}"


def _opened(row: AnyRow, sealer: Sealer | None) -> tuple[str | None, str | None]:
    if row.sealed is None or sealer is None:
        return row.text, row.code
    try:
        content = json.loads(sealer.unseal(row.sealed, _context(row.id, row.recipient)))
    except Exception:  # another key, or tampered: the worker refuses an empty message
        return None, None
    return content.get("text"), content.get("code")


def _record(row: AnyRow, sealer: Sealer | None = None) -> OutboxRecord:
    text, code = _opened(row, sealer)
    return OutboxRecord(
        id=row.id,
        channel=row.channel,
        to=row.recipient,
        purpose=row.purpose,
        subject=row.subject,
        redacted_text=row.redacted_text,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        claimed_until=row.claimed_until,
        last_error=row.last_error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        give_up_at=row.give_up_at,
        text=text,
        code=code,
        claim_token=row.claim_token,
    )


def _unleased(now: int) -> ColumnElement[bool]:
    return or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until <= now)


def _due(now: int) -> ColumnElement[bool]:
    return and_(_outbox.c.status == PENDING, _outbox.c.next_attempt_at <= now, _unleased(now))


def _held(message_id: str, claim_token: str) -> ColumnElement[bool]:
    """Only the worker still holding the lease may finish a message."""
    return and_(_outbox.c.id == message_id, _outbox.c.claim_token == claim_token, _outbox.c.status == PENDING)


def _error(text: str) -> str:
    return text[:ERROR_MAX_LENGTH]


class OutboxRepository:
    def __init__(self, db: Database, sealer: Sealer | None = None) -> None:
        """Without a `sealer` the outbox can be read and finished but not written to: nothing is
        ever queued in clear."""
        self._db = db
        self._sealer = sealer

    def enqueue(
        self,
        message: Outgoing,
        now: int,
        *,
        write: bool = True,
        give_up_at: int | None = None,
        replaces: str | None = None,
    ) -> str:
        """One INSERT, in the caller's request; the message is due at once. Returns its id. With
        `write` false the same INSERT runs and stores nothing: a message that must not leave (a
        decoy, or one the SMS-pumping breaker holds back) costs what a real one costs.

        `give_up_at`: the message is never sent after it (a code past its expiry is useless).
        `replaces`: the key a later `drop_replaced` names it by (a flow's code)."""
        if self._sealer is None:
            raise RuntimeError("this outbox has no sealing key: it cannot queue messages")
        message_id = str(uuid.uuid4())
        content = json.dumps({"text": message.text, "code": message.code}, ensure_ascii=False)
        sealed = self._sealer.seal(content, _context(message_id, message.to))
        with self._db.begin() as conn:
            conn.execute(
                self._db.insert_if(
                    _outbox,
                    dict(
                        id=message_id,
                        channel=message.channel,
                        recipient=message.to,
                        purpose=message.purpose,
                        subject=message.subject,
                        text=None,
                        code=None,
                        sealed=sealed,
                        give_up_at=give_up_at,
                        replaces=replaces,
                        redacted_text=message.redacted_text,
                        status=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        claimed_until=None,
                        claim_token=None,
                        last_error=None,
                        created_at=now,
                        finished_at=None,
                    ),
                    write,
                )
            )
        return message_id

    def drop_replaced(self, replaces: str, now: int) -> int:
        """Drop the waiting messages a newer one replaces (a flow's earlier codes, void once a fresh
        one is issued), so a stale code never follows the fresh one out. A message a worker holds
        right now is left to finish. Returns how many were dropped."""
        with self._db.begin() as conn:
            return conn.execute(
                update(_outbox)
                .where(_outbox.c.replaces == replaces, _outbox.c.status == PENDING, _unleased(now))
                .values(status=FAILED, sealed=None, text=None, code=None, finished_at=now, last_error="replaced")
            ).rowcount

    def claim_due(self, now: int, lease: int, limit: int = 1) -> list[OutboxRecord]:
        """Lease up to `limit` due messages to the caller until `now + lease`, counting the attempt.

        The attempt is counted at claim time, so a message whose worker keeps dying still runs
        out of attempts instead of circulating for ever. Messages tried fewest times come first:
        a backlog waiting out a gateway's outage never holds back a fresh code.
        """
        token = uuid.uuid4().hex
        claim = {"claimed_until": now + lease, "claim_token": token, "attempts": _outbox.c.attempts + 1}
        if self._db.dialect.name == "postgresql":
            rows = self._claim_skipping_locked(now, limit, claim)
        else:
            rows = self._claim_one_by_one(now, limit, claim)
        return sorted((_record(r, self._sealer) for r in rows), key=lambda r: (r.attempts, r.next_attempt_at))

    def _claim_skipping_locked(self, now: int, limit: int, claim: dict[str, Any]) -> list[AnyRow]:
        """PostgreSQL: one statement; rows another worker is claiming right now are skipped, not waited on.

        The candidates are a MATERIALIZED CTE, scanned once: as `id IN (SELECT … LIMIT n FOR UPDATE
        SKIP LOCKED)` the planner may rescan the subquery per row, and each rescan skips the rows
        already locked and returns the next ones, so one claim took every due message.
        """
        due = (
            select(_outbox.c.id)
            .where(_due(now))
            .order_by(_outbox.c.attempts, _outbox.c.next_attempt_at, _outbox.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        with self._db.begin() as conn:
            return list(
                conn.execute(
                    update(_outbox)
                    .where(_outbox.c.id.in_(select(due.c.id)), _due(now))
                    .values(**claim)
                    .returning(*_outbox.c)
                ).all()
            )

    def _claim_one_by_one(self, now: int, limit: int, claim: dict[str, Any]) -> list[AnyRow]:
        """SQLite: list candidates, then take each with its own conditional UPDATE; a row another
        worker took in between no longer matches and is simply not returned.

        Each UPDATE is its own short write transaction (never a read upgraded to a write, which
        SQLite's WAL mode refuses under contention instead of waiting).
        """
        with self._db.connect() as conn:
            candidates = list(
                conn.execute(
                    select(_outbox.c.id)
                    .where(_due(now))
                    .order_by(_outbox.c.attempts, _outbox.c.next_attempt_at, _outbox.c.created_at)
                    .limit(limit)
                ).scalars()
            )
        rows = []
        for message_id in candidates:
            with self._db.begin() as conn:
                row = conn.execute(
                    update(_outbox).where(_outbox.c.id == message_id, _due(now)).values(**claim).returning(*_outbox.c)
                ).first()
            if row is not None:
                rows.append(row)
        return rows

    def mark_sent(self, message_id: str, claim_token: str, now: int) -> bool:
        """Finish a sent message and erase its text and code. False when the lease was lost."""
        return self._finish(message_id, claim_token, status=SENT, finished_at=now, last_error=None)

    def mark_failed(self, message_id: str, claim_token: str, error: str, now: int) -> bool:
        """Give up on a message for good, erasing its text and code. False when the lease was lost."""
        return self._finish(message_id, claim_token, status=FAILED, finished_at=now, last_error=_error(error))

    def retry_later(self, message_id: str, claim_token: str, error: str, next_attempt_at: int) -> bool:
        """Release the lease and make the message due again at `next_attempt_at`."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_outbox)
                .where(_held(message_id, claim_token))
                .values(claimed_until=None, claim_token=None, last_error=_error(error), next_attempt_at=next_attempt_at)
            )
        return result.rowcount == 1

    def _finish(self, message_id: str, claim_token: str, **values: Any) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_outbox)
                .where(_held(message_id, claim_token))
                .values(sealed=None, text=None, code=None, claimed_until=None, claim_token=None, **values)
            )
        return result.rowcount == 1

    def get(self, message_id: str) -> OutboxRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(_outbox).where(_outbox.c.id == message_id)).first()
        return _record(row, self._sealer) if row else None
