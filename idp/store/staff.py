"""Staff accounts (admin, supervisor, clerk, auditor) and their short console sessions.

Staff never share a table with citizens: a citizen session can never open the console, and a
staff password hash or sealed TOTP seed never reaches a record (both travel apart, on purpose).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Column, Text, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from idp.store.database import Database
from idp.store.records import Conflict
from idp.store.tables import AnyRow, StaffPasskey, _epoch, table_of


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    totp_sealed: str = Field(sa_column=Column(Text, nullable=False))
    totp_last_step: int | None = _epoch(nullable=True)
    roles: str = Field(max_length=100)  # space-separated
    status: str = Field(max_length=16)  # active | disabled
    created_at: int = _epoch()
    updated_at: int = _epoch()


class StaffSession(SQLModel, table=True):
    __tablename__ = "staff_session"

    id_digest: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(foreign_key="staff_user.id", max_length=36, index=True)
    created_at: int = _epoch()
    last_seen_at: int = _epoch()
    expires_at: int = _epoch()
    ended_at: int | None = _epoch(nullable=True)


_staff = table_of(StaffUser)
_session = table_of(StaffSession)
_passkey = table_of(StaffPasskey)
_PUBLIC = [c for c in _staff.c if c.name not in ("password_hash", "totp_sealed", "totp_last_step")]


@dataclass(frozen=True)
class StaffRecord:
    id: str
    username: str
    full_name: str
    roles: frozenset[str]
    status: str
    created_at: int


@dataclass(frozen=True)
class StaffSecrets:
    """What a login checks; never handed to a page."""

    password_hash: str = field(repr=False)
    totp_sealed: str = field(repr=False)
    totp_last_step: int | None = None


@dataclass(frozen=True)
class StaffSessionRecord:
    id_digest: str = field(repr=False)
    staff_id: str = ""
    created_at: int = 0
    last_seen_at: int = 0
    expires_at: int = 0


def _record(row: AnyRow) -> StaffRecord:
    return StaffRecord(
        id=row.id,
        username=row.username,
        full_name=row.full_name,
        roles=frozenset(row.roles.split()),
        status=row.status,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class StaffPasskeyRecord:
    credential_id: str
    staff_id: str
    public_key: bytes = field(repr=False)
    sign_count: int
    transports: list[str]
    aaguid: str
    backed_up: bool
    name: str
    created_at: int
    last_used_at: int | None


def _passkey_record(row: AnyRow) -> StaffPasskeyRecord:
    return StaffPasskeyRecord(
        row.credential_id,
        row.staff_id,
        bytes(row.public_key),
        row.sign_count,
        json.loads(row.transports),
        row.aaguid,
        row.backed_up,
        row.name,
        row.created_at,
        row.last_used_at,
    )


class StaffPasskeys:
    """Staff members' passkeys. The counter moves forward only by one conditional update, so two
    racing logins with the same assertion cannot both pass the sign-count check."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, record: StaffPasskeyRecord) -> bool:
        """False when the credential is already registered: the primary key says so."""
        try:
            with self._db.begin() as conn:
                conn.execute(
                    _passkey.insert().values(
                        credential_id=record.credential_id,
                        staff_id=record.staff_id,
                        public_key=record.public_key,
                        sign_count=record.sign_count,
                        transports=json.dumps(record.transports),
                        aaguid=record.aaguid,
                        backed_up=record.backed_up,
                        name=record.name,
                        created_at=record.created_at,
                        last_used_at=None,
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, credential_id: str) -> StaffPasskeyRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(_passkey).where(_passkey.c.credential_id == credential_id)).first()
        return _passkey_record(row) if row else None

    def of(self, staff_id: str) -> list[StaffPasskeyRecord]:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_passkey).where(_passkey.c.staff_id == staff_id).order_by(_passkey.c.created_at)
            ).all()
        return [_passkey_record(r) for r in rows]

    def count(self, staff_id: str) -> int:
        with self._db.connect() as conn:
            found = conn.execute(
                select(func.count()).select_from(_passkey).where(_passkey.c.staff_id == staff_id)
            ).scalar_one()
        return int(found)

    def advance(self, credential_id: str, seen: int, new_count: int, now: int) -> bool:
        """Move the counter from `seen` to `new_count`; False if another login moved it first."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_passkey)
                .where(_passkey.c.credential_id == credential_id, _passkey.c.sign_count == seen)
                .values(sign_count=new_count, last_used_at=now)
            )
        return result.rowcount == 1

    def remove(self, staff_id: str, credential_id: str) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                delete(_passkey).where(_passkey.c.staff_id == staff_id, _passkey.c.credential_id == credential_id)
            )
        return result.rowcount == 1


class StaffUsers:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.passkeys = StaffPasskeys(db)  # a member's credentials, reached through the member's repository

    def add(
        self,
        *,
        id: str,
        username: str,
        full_name: str,
        password_hash: str,
        totp_sealed: str,
        roles: list[str],
        now: int,
    ) -> StaffRecord:
        try:
            with self._db.begin() as conn:
                row = conn.execute(
                    _staff.insert()
                    .values(
                        id=id,
                        username=username,
                        full_name=full_name,
                        password_hash=password_hash,
                        totp_sealed=totp_sealed,
                        totp_last_step=None,
                        roles=" ".join(sorted(roles)),
                        status="active",
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(*_PUBLIC)
                ).one()
        except IntegrityError:
            raise Conflict("username") from None
        return _record(row)

    def get(self, staff_id: str) -> StaffRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(*_PUBLIC).where(_staff.c.id == staff_id)).first()
        return _record(row) if row else None

    def find_for_login(self, username: str) -> tuple[StaffRecord, StaffSecrets] | None:
        with self._db.connect() as conn:
            row = conn.execute(select(_staff).where(_staff.c.username == username)).first()
        if row is None:
            return None
        return _record(row), StaffSecrets(row.password_hash, row.totp_sealed, row.totp_last_step)

    def list(self) -> list[StaffRecord]:
        with self._db.connect() as conn:
            rows = conn.execute(select(*_PUBLIC).order_by(_staff.c.username)).all()
        return [_record(r) for r in rows]

    def accept_step(self, staff_id: str, step: int) -> bool:
        """Record a TOTP step as used, once: a replayed or racing code loses."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_staff)
                .where(_staff.c.id == staff_id, (_staff.c.totp_last_step.is_(None)) | (_staff.c.totp_last_step < step))
                .values(totp_last_step=step)
            )
        return result.rowcount == 1

    def set_password_hash(self, staff_id: str, password_hash: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_staff).where(_staff.c.id == staff_id).values(password_hash=password_hash, updated_at=now)
            )

    def set_status(self, staff_id: str, status: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(update(_staff).where(_staff.c.id == staff_id).values(status=status, updated_at=now))
        return result.rowcount == 1


class StaffSessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, *, id_digest: str, staff_id: str, now: int, expires_at: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                _session.insert().values(
                    id_digest=id_digest,
                    staff_id=staff_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                    ended_at=None,
                )
            )

    def get_live(self, id_digest: str, now: int, idle_ttl: int) -> StaffSessionRecord | None:
        """The session unless ended, expired, idle too long, or its staff member disabled; marks it seen."""
        with self._db.begin() as conn:
            row = conn.execute(
                update(_session)
                .where(
                    _session.c.id_digest == id_digest,
                    _session.c.ended_at.is_(None),
                    _session.c.expires_at > now,
                    _session.c.last_seen_at > now - idle_ttl,
                    _session.c.staff_id.in_(select(_staff.c.id).where(_staff.c.status == "active")),
                )
                .values(last_seen_at=now)
                .returning(*_session.c)
            ).first()
        if row is None:
            return None
        return StaffSessionRecord(row.id_digest, row.staff_id, row.created_at, row.last_seen_at, row.expires_at)

    def end(self, id_digest: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_session)
                .where(_session.c.id_digest == id_digest, _session.c.ended_at.is_(None))
                .values(ended_at=now)
            )
        return result.rowcount == 1

    def end_all_for(self, staff_id: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_session)
                .where(_session.c.staff_id == staff_id, _session.c.ended_at.is_(None))
                .values(ended_at=now)
            )
