"""The verification desk: a clerk's record of an in-person check and a supervisor's decision.

The record keeps the account's identity fields when the check was recorded (and their digest), and
what the clerk read on the document (`recorded_identity`), so the supervisor sees every difference.
At most one record per citizen is open (`pending`): a partial unique index, not a check-then-insert,
so two clerks recording at once cannot both open one. Approval is one
transaction of two conditional UPDATEs: the record leaves `pending` only if it is still pending
and was recorded by someone else (so two racing approvals have one winner and nobody approves
their own record), and the citizen reaches LoA2 only if every identity field still equals what
the clerk saw. If the account changed in between, nothing is approved and the record is voided.
A record older than the desk's maximum age is `expired` and can no longer be approved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Index, Text, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from idp.store.database import Database
from idp.store.records import CitizenRecord, Conflict
from idp.store.tables import AnyRow, Citizen, _epoch, table_of

# Citizen columns, and the keys of the identity a record stores: the ID number is `citizen_id` there,
# as in the column, so records written before `CitizenRecord.id_number` still compare and digest alike.
IDENTITY_FIELDS = ("citizen_id", "full_name", "birth_date", "sex", "phone")
# What the clerk reads on the document and the desk compares with the account.
DOCUMENT_FIELDS = ("full_name", "birth_date", "sex")
_OPEN = text("status = 'pending'")
# check: an identity check of an existing account; registration: an account a clerk created at the
# counter; recovery: a new phone and factors for a citizen who lost them; dispute: a number another
# account holds, proven at the counter to be the owner's.
KINDS = ("check", "registration", "recovery", "dispute")


def identity_of(citizen: CitizenRecord) -> dict[str, str]:
    """The account's identity fields, keyed as the stored identity and the columns are."""
    return {
        "citizen_id": citizen.id_number,
        "full_name": citizen.full_name,
        "birth_date": citizen.birth_date,
        "sex": citizen.sex,
        "phone": citizen.phone,
    }


class VerificationRequest(SQLModel, table=True):
    __tablename__ = "verification_request"
    # One open check per citizen, held by the database.
    __table_args__ = (
        Index("uq_verification_request_open", "citizen_pk", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN),
    )

    id: str = Field(primary_key=True, max_length=36)
    citizen_pk: str = Field(foreign_key="citizen.id", max_length=36, index=True)
    document_type: str = Field(max_length=32)
    document_number: str = Field(max_length=64)
    data_matches: bool = True
    note: str = Field(sa_column=Column(Text, nullable=False))
    identity: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the fields the clerk saw
    identity_digest: str = Field(max_length=64)
    recorded_by: str = Field(foreign_key="staff_user.id", max_length=36)
    recorded_at: int = _epoch()
    status: str = Field(max_length=16, index=True)  # pending | approved | rejected | void
    decided_by: str | None = Field(default=None, max_length=36)
    decided_at: int | None = _epoch(nullable=True)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # JSON of DOCUMENT_FIELDS as the clerk read them on the document; None on records made before.
    recorded_identity: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # What the record is for (`KINDS`), and what its approval applies (JSON; None for plain checks).
    kind: str = Field(default="check", max_length=16, sa_column_kwargs={"server_default": "check"})
    details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


_request = table_of(VerificationRequest)
_citizen = table_of(Citizen)


@dataclass(frozen=True)
class VerificationRecord:
    id: str
    citizen_pk: str
    document_type: str
    document_number: str
    data_matches: bool
    note: str
    identity: dict[str, str]
    identity_digest: str
    recorded_by: str
    recorded_at: int
    status: str
    decided_by: str | None
    decided_at: int | None
    decision_reason: str | None
    recorded_identity: dict[str, str] | None = None  # what the clerk read on the document
    kind: str = "check"
    details: dict[str, Any] | None = None  # what the approval applies (kinds other than `check`)


def _record(row: AnyRow) -> VerificationRecord:
    values = {c.name: row._mapping[c.name] for c in _request.c}
    values["identity"] = json.loads(values["identity"])
    for name in ("recorded_identity", "details"):
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return VerificationRecord(**values)


class Verifications:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        *,
        id: str,
        citizen_pk: str,
        document_type: str,
        document_number: str,
        data_matches: bool,
        note: str,
        identity: dict[str, str],
        identity_digest: str,
        recorded_by: str,
        now: int,
        recorded_identity: dict[str, str] | None = None,
        kind: str = "check",
        details: dict[str, Any] | None = None,
    ) -> VerificationRecord:
        """Raises `Conflict("citizen_pk")` when the citizen already has an open record."""
        try:
            with self._db.begin() as conn:
                row = conn.execute(
                    _request.insert()
                    .values(
                        id=id,
                        citizen_pk=citizen_pk,
                        document_type=document_type,
                        document_number=document_number,
                        data_matches=data_matches,
                        note=note,
                        identity=json.dumps(identity, sort_keys=True),
                        identity_digest=identity_digest,
                        recorded_by=recorded_by,
                        recorded_at=now,
                        status="pending",
                        recorded_identity=None if recorded_identity is None else json.dumps(recorded_identity),
                        kind=kind,
                        details=None if details is None else json.dumps(details, sort_keys=True),
                    )
                    .returning(*_request.c)
                ).one()
        except IntegrityError:
            raise Conflict("citizen_pk") from None
        return _record(row)

    def get(self, request_id: str) -> VerificationRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(_request).where(_request.c.id == request_id)).first()
        return _record(row) if row else None

    def list(
        self, status: str | None = None, citizen_pk: str | None = None, limit: int = 100
    ) -> list[VerificationRecord]:
        query = select(_request).order_by(_request.c.recorded_at.desc(), _request.c.id).limit(limit)
        if status:
            query = query.where(_request.c.status == status)
        if citizen_pk:
            query = query.where(_request.c.citizen_pk == citizen_pk)
        with self._db.connect() as conn:
            return [_record(r) for r in conn.execute(query).all()]

    def approve(
        self,
        request_id: str,
        approver: str,
        now: int,
        *,
        raise_to: str | None,
        recorded_after: int,
        reason: str | None = None,
    ) -> str:
        """'approved' (the account is now at `raise_to`), 'gone' (not pending, or lost a race), 'own'
        (the approver recorded it), 'expired' (recorded before `recorded_after`; now marked so), or
        'stale' (the account changed since the record, which is now void). `reason` is kept as the
        decision's reason (why a difference was accepted). With `raise_to` None (a dispute: the
        record's account is the holder, who gains nothing) only the record is decided."""
        record = self.get(request_id)
        if record is None or record.status != "pending":
            return "gone"
        if record.recorded_by == approver:
            return "own"
        if record.recorded_at < recorded_after:
            self.expire(recorded_after, now, citizen_pk=record.citizen_pk)
            return "expired"
        with self._db.begin() as conn:
            taken = conn.execute(
                update(_request)
                .where(
                    _request.c.id == request_id,
                    _request.c.status == "pending",
                    _request.c.recorded_by != approver,
                    _request.c.recorded_at >= recorded_after,
                )
                .values(status="approved", decided_by=approver, decided_at=now, decision_reason=reason)
            ).rowcount
            if taken != 1:
                return "gone"
            if raise_to is None:
                return "approved"
            unchanged = [_citizen.c[name] == record.identity.get(name) for name in IDENTITY_FIELDS]
            raised = conn.execute(
                update(_citizen)
                .where(_citizen.c.id == record.citizen_pk, _citizen.c.status == "active", *unchanged)
                .values(level=raise_to, updated_at=now)
            ).rowcount
            if raised == 1:
                return "approved"
            conn.rollback()
        self.void(request_id, approver, now, "the account's data changed after the record")
        return "stale"

    def reject(self, request_id: str, decider: str, reason: str, now: int) -> str:
        record = self.get(request_id)
        if record is None or record.status != "pending":
            return "gone"
        if record.recorded_by == decider:
            return "own"
        with self._db.begin() as conn:
            taken = conn.execute(
                update(_request)
                .where(_request.c.id == request_id, _request.c.status == "pending", _request.c.recorded_by != decider)
                .values(status="rejected", decided_by=decider, decided_at=now, decision_reason=reason)
            ).rowcount
        return "rejected" if taken == 1 else "gone"

    def void(self, request_id: str, decider: str | None, now: int, reason: str) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_request)
                .where(_request.c.id == request_id, _request.c.status == "pending")
                .values(status="void", decided_by=decider, decided_at=now, decision_reason=reason)
            )
        return result.rowcount == 1

    def expire(self, recorded_before: int, now: int, *, citizen_pk: str | None = None) -> int:
        """Open records older than the desk allows become `expired`; how many did."""
        condition = [_request.c.status == "pending", _request.c.recorded_at < recorded_before]
        if citizen_pk is not None:
            condition.append(_request.c.citizen_pk == citizen_pk)
        with self._db.begin() as conn:
            result = conn.execute(
                update(_request)
                .where(*condition)
                .values(status="expired", decided_at=now, decision_reason="older than the desk allows")
            )
        return result.rowcount
