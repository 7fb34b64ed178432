"""Staff accounts (admin, supervisor, clerk, auditor) and their short console sessions.

Staff never share a table with citizens: a citizen session can never open the console, and a
staff password hash or sealed TOTP seed never reaches a record (both travel apart, on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Column, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from idp.store.database import Database
from idp.store.records import Conflict
from idp.store.tables import AnyRow, _epoch, table_of


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


class StaffUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

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
