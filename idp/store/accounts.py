"""Citizens and portal clients."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from idp.store.database import Database
from idp.store.records import CitizenRecord, ClientRecord, Conflict
from idp.store.tables import Citizen, Client, OtpChallenge

_citizen = Citizen.__table__
_client = Client.__table__
_challenge = OtpChallenge.__table__
_CITIZEN_COLUMNS = [c for c in _citizen.c if c.name != "password_hash"]


def _citizen_record(row: Any) -> CitizenRecord:
    fields = row if isinstance(row, dict) else row._mapping
    return CitizenRecord(**{c.name: fields[c.name] for c in _CITIZEN_COLUMNS if c.name != "created_at"})


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
        row = dict(values, password_hash=password_hash, created_at=created_at, updated_at=created_at)
        try:
            with self._db.begin() as conn:
                conn.execute(_citizen.insert().values(**row))
        except IntegrityError as exc:
            raise Conflict(_conflicting_field(exc, ("citizen_id", "phone"))) from None
        return self.get(values["id"])  # type: ignore[return-value]

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

    def find_holders(self, citizen_id: str, phone: str) -> list[CitizenRecord]:
        """Accounts that already hold this ID number or this phone (to tell their owners)."""
        with self._db.connect() as conn:
            rows = conn.execute(
                select(*_CITIZEN_COLUMNS).where(or_(_citizen.c.citizen_id == citizen_id, _citizen.c.phone == phone))
            ).all()
        return [_citizen_record(r) for r in rows]

    def remove_stale_pending(self, citizen_id: str, phone: str, created_before: int) -> int:
        """Pending registrations never proven by their code stop holding the ID number and phone."""
        stale = and_(
            _citizen.c.status == "pending",
            _citizen.c.created_at < created_before,
            or_(_citizen.c.citizen_id == citizen_id, _citizen.c.phone == phone),
        )
        with self._db.begin() as conn:
            ids = [r.id for r in conn.execute(select(_citizen.c.id).where(stale)).all()]
            if not ids:
                return 0
            conn.execute(delete(_challenge).where(_challenge.c.citizen_id.in_(ids)))
            conn.execute(delete(_citizen).where(_citizen.c.id.in_(ids), _citizen.c.status == "pending"))
        return len(ids)

    def activate(self, citizen_pk: str, now: int) -> bool:
        """Pending → active at LoA1 with the phone proven; only once."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_citizen)
                .where(_citizen.c.id == citizen_pk, _citizen.c.status == "pending")
                .values(status="active", phone_verified=True, updated_at=now)
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


def _client_record(row: Any) -> ClientRecord:
    return ClientRecord(
        id=row.id,
        name=row.name,
        auth_method=row.auth_method,
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        post_logout_redirect_uris=tuple(json.loads(row.post_logout_redirect_uris)),
        scopes=frozenset(row.scopes.split()),
        id_token_alg=row.id_token_alg,
        disabled=row.disabled,
        secret_digest=row.secret_digest,
        subject_type=row.subject_type,
        sector_id=row.sector_id,
        grant_types=frozenset(row.grant_types.split()),
        min_level=row.min_level,
        jwks=json.loads(row.jwks) if row.jwks else None,
        jwks_uri=row.jwks_uri,
        backchannel_logout_uri=row.backchannel_logout_uri,
        require_par=row.require_par,
        require_dpop=row.require_dpop,
    )


# Every token request looks its client up; portals change rarely. Each process keeps a record
# for this long (a write in this process forgets it at once; other processes see it this late).
CLIENT_CACHE_SECONDS = 2.0
_client_cache: dict[tuple[int, str], tuple[float, ClientRecord]] = {}
_client_cache_lock = threading.Lock()


def forget_client(client_id: str) -> None:
    with _client_cache_lock:
        for key in [k for k in _client_cache if k[1] == client_id]:
            del _client_cache[key]


class Clients:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        *,
        id: str,
        name: str,
        secret_digest: str | None,
        auth_method: str,
        redirect_uris: list[str],
        post_logout_redirect_uris: list[str],
        scopes: list[str],
        id_token_alg: str,
        created_at: int,
        **options: Any,
    ) -> ClientRecord:
        """`options` are the optional columns (subject_type, grant_types, jwks as a dict, ...)."""
        if isinstance(options.get("jwks"), dict):
            options["jwks"] = json.dumps(options["jwks"])
        if isinstance(options.get("grant_types"), (list, tuple, set, frozenset)):
            options["grant_types"] = " ".join(sorted(options["grant_types"]))
        try:
            with self._db.begin() as conn:
                conn.execute(
                    _client.insert().values(
                        id=id,
                        name=name,
                        secret_digest=secret_digest,
                        auth_method=auth_method,
                        redirect_uris=json.dumps(redirect_uris),
                        post_logout_redirect_uris=json.dumps(post_logout_redirect_uris),
                        scopes=" ".join(scopes),
                        id_token_alg=id_token_alg,
                        disabled=False,
                        created_at=created_at,
                        **options,
                    )
                )
        except IntegrityError:
            raise Conflict("client_id") from None
        return self.get(id)  # type: ignore[return-value]

    def get(self, client_id: str) -> ClientRecord | None:
        key = (id(self._db), client_id)
        with _client_cache_lock:
            cached = _client_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CLIENT_CACHE_SECONDS:
            return cached[1]
        with self._db.connect() as conn:
            row = conn.execute(select(_client).where(_client.c.id == client_id)).first()
        if row is None:
            return None  # unknown ids are not cached: a flood of random ids must not grow memory
        record = _client_record(row)
        with _client_cache_lock:
            if len(_client_cache) > 10_000:
                _client_cache.clear()
            _client_cache[key] = (time.monotonic(), record)
        return record

    def set_secret_digest(self, client_id: str, secret_digest: str) -> None:
        with self._db.begin() as conn:
            conn.execute(update(_client).where(_client.c.id == client_id).values(secret_digest=secret_digest))
        forget_client(client_id)
