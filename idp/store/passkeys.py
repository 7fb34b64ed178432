"""Citizens' passkeys (WebAuthn credentials). The counter moves forward only by one conditional
update, so two racing logins with the same assertion cannot both pass the sign-count check."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update

from idp.store.database import Database
from idp.store.raw_reads import RawRead
from idp.store.tables import AnyRow, Passkey, table_of

_passkey = table_of(Passkey)
# Every password login asks (is a second factor owed?): built once, since building the statement
# and its cache key cost several times what SQLite takes to count.
_COUNT = select(func.count()).select_from(_passkey).where(_passkey.c.citizen_id == bindparam("p_citizen_id"))


@dataclass(frozen=True)
class PasskeyRecord:
    credential_id: str
    citizen_id: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: str
    backed_up: bool
    name: str
    created_at: int
    last_used_at: int | None


def _record(row: AnyRow) -> PasskeyRecord:
    return PasskeyRecord(
        row.credential_id,
        row.citizen_id,
        bytes(row.public_key),
        row.sign_count,
        json.loads(row.transports),
        row.aaguid,
        row.backed_up,
        row.name,
        row.created_at,
        row.last_used_at,
    )


class Passkeys:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._count = RawRead(_COUNT, db)

    def add(self, record: PasskeyRecord) -> bool:
        """False when the credential is already registered (to anyone): the primary key says so."""
        with self._db.begin() as conn:
            if conn.execute(
                select(_passkey.c.credential_id).where(_passkey.c.credential_id == record.credential_id)
            ).first():
                return False
            conn.execute(
                _passkey.insert().values(
                    credential_id=record.credential_id,
                    citizen_id=record.citizen_id,
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
        return True

    def get(self, credential_id: str) -> PasskeyRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(_passkey).where(_passkey.c.credential_id == credential_id)).first()
        return _record(row) if row else None

    def of(self, citizen_id: str) -> list[PasskeyRecord]:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_passkey).where(_passkey.c.citizen_id == citizen_id).order_by(_passkey.c.created_at)
            ).all()
        return [_record(r) for r in rows]

    def count(self, citizen_id: str) -> int:
        found = self._count.row(p_citizen_id=citizen_id)
        return int(found[0]) if found else 0

    def advance(self, credential_id: str, seen: int, new_count: int, now: int) -> bool:
        """Move the counter from `seen` to `new_count`; False if another login moved it first."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_passkey)
                .where(_passkey.c.credential_id == credential_id, _passkey.c.sign_count == seen)
                .values(sign_count=new_count, last_used_at=now)
            )
        return result.rowcount == 1

    def rename(self, citizen_id: str, credential_id: str, name: str) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_passkey)
                .where(_passkey.c.citizen_id == citizen_id, _passkey.c.credential_id == credential_id)
                .values(name=name)
            )
        return result.rowcount == 1

    def remove(self, citizen_id: str, credential_id: str) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                delete(_passkey).where(_passkey.c.citizen_id == citizen_id, _passkey.c.credential_id == credential_id)
            )
        return result.rowcount == 1
