"""Citizens: their accounts, found by ID number or phone, and the pending registrations that expire."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from idp.store.database import Database
from idp.store.raw_reads import RawRead
from idp.store.records import CitizenRecord, Conflict
from idp.store.tables import Citizen, OtpChallenge, table_of

_citizen = table_of(Citizen)
_challenge = table_of(OtpChallenge)
_CITIZEN_COLUMNS = [c for c in _citizen.c if c.name != "password_hash"]

# A login's lookups, built once with bind parameters (building and keying a statement cost more
# than running it on SQLite): by ID number, or by ID number or phone.
_GET = select(*_CITIZEN_COLUMNS).where(_citizen.c.id == bindparam("p_id"))
_FIND_BY_ID_NUMBER = select(*_CITIZEN_COLUMNS, _citizen.c.password_hash).where(
    _citizen.c.citizen_id == bindparam("p_id_number")
)
_FIND_BY_ID_NUMBER_OR_PHONE = select(*_CITIZEN_COLUMNS, _citizen.c.password_hash).where(
    or_(_citizen.c.citizen_id == bindparam("p_id_number"), _citizen.c.phone == bindparam("p_phone"))
)


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
        # Every password login looks its account up (`RawRead`: the connection's own cursor).
        self._find_by_id_number = RawRead(_FIND_BY_ID_NUMBER, db)
        self._find_by_id_number_or_phone = RawRead(_FIND_BY_ID_NUMBER_OR_PHONE, db)

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
            row = conn.execute(_GET, {"p_id": citizen_pk}).first()
        return _citizen_record(row) if row else None

    def find_for_login(self, identifier: str, phone: str | None) -> tuple[CitizenRecord, str] | None:
        """The citizen whose ID number is `identifier` or whose phone is `phone`, with the hash."""
        if phone:
            row = self._find_by_id_number_or_phone.first(p_id_number=identifier, p_phone=phone)
        else:
            row = self._find_by_id_number.first(p_id_number=identifier)
        return (_citizen_record(row), row["password_hash"]) if row else None

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

    def set_phone(self, citizen_pk: str, phone: str, now: int, *, verified: bool = True) -> None:
        """`verified` false: bound by the counter, proven only once a code sent to it comes back."""
        try:
            with self._db.begin() as conn:
                conn.execute(
                    update(_citizen)
                    .where(_citizen.c.id == citizen_pk)
                    .values(phone=phone, phone_verified=verified, updated_at=now)
                )
        except IntegrityError:
            raise Conflict("phone") from None

    def set_password_hash(self, citizen_pk: str, password_hash: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_citizen).where(_citizen.c.id == citizen_pk).values(password_hash=password_hash, updated_at=now)
            )

    def set_own_password(self, citizen_pk: str, password_hash: str, now: int) -> bool:
        """The password the citizen chose through a counter's link, whose code proved the phone; only
        on an active account."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_citizen)
                .where(_citizen.c.id == citizen_pk, _citizen.c.status == "active")
                .values(password_hash=password_hash, phone_verified=True, updated_at=now)
            )
        return result.rowcount == 1

    def freeze(self, citizen_pk: str, *, held_number: str, placeholder: str, now: int) -> bool:
        """A disputed holder: frozen, at LoA1, and no longer holding the number (the column is unique,
        and the owner must hold it); `placeholder` takes its place. Only if it still holds `held_number`."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_citizen)
                .where(_citizen.c.id == citizen_pk, _citizen.c.citizen_id == held_number, _citizen.c.status != "frozen")
                .values(
                    status="frozen",
                    citizen_id=placeholder,
                    level="LoA1",
                    registry_checked_at=None,
                    updated_at=now,
                )
            )
        return result.rowcount == 1

    def bind_identity(
        self, citizen_pk: str, *, id_number: str, full_name: str, birth_date: str, sex: str, level: str, now: int
    ) -> bool:
        """An owner's existing active account re-bound to the number proven at the counter, with the
        card's name, birth date and sex. Raises `Conflict` if the number is still held."""
        try:
            with self._db.begin() as conn:
                result = conn.execute(
                    update(_citizen)
                    .where(_citizen.c.id == citizen_pk, _citizen.c.status == "active")
                    .values(
                        citizen_id=id_number,
                        full_name=full_name,
                        birth_date=birth_date,
                        sex=sex,
                        level=level,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            raise Conflict("citizen_id") from None
        return result.rowcount == 1
