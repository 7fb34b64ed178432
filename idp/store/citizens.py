"""Citizens: their accounts, found by ID number or phone, and the pending registrations that expire."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from idp.store.database import Database
from idp.store.records import CitizenRecord, Conflict
from idp.store.tables import Citizen, OtpChallenge, table_of

_citizen = table_of(Citizen)
_challenge = table_of(OtpChallenge)
_CITIZEN_COLUMNS = [c for c in _citizen.c if c.name != "password_hash"]


def _citizen_record(row: Any) -> CitizenRecord:
    fields = row if isinstance(row, dict) else row._mapping
    values = {c.name: fields[c.name] for c in _CITIZEN_COLUMNS if c.name not in ("created_at", "citizen_id")}
    return CitizenRecord(id_number=fields["citizen_id"], **values)  # the column keeps its old name


def _conflicting_field(exc: IntegrityError, candidates: tuple[str, ...]) -> str:
    text = str(exc.orig).lower()
    for name in candidates:
        if name in text:
            return name
    return candidates[0]


class Citizens:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, *, password_hash: str, created_at: int, **values: Any) -> CitizenRecord:
        """`values` are the record's fields; `id_number` goes to its column, still named `citizen_id`."""
        row = dict(values, password_hash=password_hash, created_at=created_at, updated_at=created_at)
        row["citizen_id"] = row.pop("id_number")
        try:
            with self._db.begin() as conn:
                added = conn.execute(_citizen.insert().values(**row).returning(*_CITIZEN_COLUMNS)).one()
        except IntegrityError as exc:
            raise Conflict(_conflicting_field(exc, ("citizen_id", "phone"))) from None
        return _citizen_record(added)

    def get(self, citizen_pk: str) -> CitizenRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(*_CITIZEN_COLUMNS).where(_citizen.c.id == citizen_pk)).first()
        return _citizen_record(row) if row else None

    def find_for_login(self, identifier: str, phone: str | None) -> tuple[CitizenRecord, str] | None:
        """The citizen whose ID number is `identifier` or whose phone is `phone`, with the hash."""
        condition = _citizen.c.citizen_id == identifier
        if phone:
            condition = or_(condition, _citizen.c.phone == phone)
        with self._db.connect() as conn:
            row = conn.execute(select(*_CITIZEN_COLUMNS, _citizen.c.password_hash).where(condition)).first()
        return (_citizen_record(row), row.password_hash) if row else None

    def find_holders(self, id_number: str, phone: str) -> list[CitizenRecord]:
        """Accounts that already hold this ID number or this phone (to tell their owners)."""
        with self._db.connect() as conn:
            rows = conn.execute(
                select(*_CITIZEN_COLUMNS).where(or_(_citizen.c.citizen_id == id_number, _citizen.c.phone == phone))
            ).all()
        return [_citizen_record(r) for r in rows]

    def remove_stale_pending(self, id_number: str, phone: str, created_before: int) -> int:
        """Pending registrations never proven by their code stop holding the ID number and phone."""
        stale = and_(
            _citizen.c.status == "pending",
            _citizen.c.created_at < created_before,
            or_(_citizen.c.citizen_id == id_number, _citizen.c.phone == phone),
        )
        with self._db.begin() as conn:
            ids = [r.id for r in conn.execute(select(_citizen.c.id).where(stale)).all()]
            if not ids:
                return 0
            conn.execute(delete(_challenge).where(_challenge.c.citizen_id.in_(ids)))
            conn.execute(delete(_citizen).where(_citizen.c.id.in_(ids), _citizen.c.status == "pending"))
        return len(ids)

    def activate(self, citizen_pk: str, now: int, *, password_hash: str | None = None) -> bool:
        """Pending → active at LoA1 with the phone proven; only once. `password_hash`: the one chosen
        in the flow that proved the phone (a repeated registration), set in the same update."""
        chosen = {"password_hash": password_hash} if password_hash else {}
        with self._db.begin() as conn:
            result = conn.execute(
                update(_citizen)
                .where(_citizen.c.id == citizen_pk, _citizen.c.status == "pending")
                .values(status="active", phone_verified=True, updated_at=now, **chosen)
            )
        return result.rowcount == 1

    def set_phone(self, citizen_pk: str, phone: str, now: int) -> None:
        try:
            with self._db.begin() as conn:
                conn.execute(
                    update(_citizen)
                    .where(_citizen.c.id == citizen_pk)
                    .values(phone=phone, phone_verified=True, updated_at=now)
                )
        except IntegrityError:
            raise Conflict("phone") from None

    def set_password_hash(self, citizen_pk: str, password_hash: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_citizen).where(_citizen.c.id == citizen_pk).values(password_hash=password_hash, updated_at=now)
            )
