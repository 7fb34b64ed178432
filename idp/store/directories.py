"""Queries the staff console needs over citizens and portal clients (search, lock, edit).

Name search is diacritics-insensitive through a small side index (`citizen_name_index`) that is
brought up to date incrementally before each name search: rows whose citizen changed since
(`citizen.updated_at`) are re-folded. The folding function comes from the core.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Field, SQLModel

from idp.store.citizens import _CITIZEN_COLUMNS, _citizen_record
from idp.store.clients import Clients, _client_record
from idp.store.database import Database
from idp.store.records import CitizenRecord, ClientRecord
from idp.store.tables import (
    BrowserSession,
    Citizen,
    Client,
    Consent,
    Passkey,
    RecoveryCode,
    TotpFactor,
    _epoch,
    table_of,
)


class CitizenNameIndex(SQLModel, table=True):
    __tablename__ = "citizen_name_index"

    citizen_pk: str = Field(foreign_key="citizen.id", primary_key=True, max_length=36)
    folded_name: str = Field(max_length=200, index=True)
    updated_at: int = _epoch()


_citizen = table_of(Citizen)
_index = table_of(CitizenNameIndex)
_client = table_of(Client)
_session = table_of(BrowserSession)
_consent = table_of(Consent)
_totp = table_of(TotpFactor)
_recovery = table_of(RecoveryCode)
_passkey = table_of(Passkey)


@dataclass(frozen=True)
class SessionSummary:
    sid: str
    auth_time: int
    last_seen_at: int
    acr: str
    amr: tuple[str, ...]


@dataclass(frozen=True)
class ConnectedPortal:
    client_id: str
    name: str
    scopes: str
    since: int


class CitizenDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _refresh_index(self, fold: Callable[[str], str]) -> None:
        stale = (
            select(_citizen.c.id, _citizen.c.full_name, _citizen.c.updated_at)
            .select_from(_citizen.outerjoin(_index, _index.c.citizen_pk == _citizen.c.id))
            .where(or_(_index.c.citizen_pk.is_(None), _index.c.updated_at < _citizen.c.updated_at))
        )
        with self._db.begin() as conn:
            for row in conn.execute(stale).all():
                values = {"folded_name": fold(row.full_name)[:200], "updated_at": row.updated_at}
                if conn.execute(update(_index).where(_index.c.citizen_pk == row.id).values(**values)).rowcount == 0:
                    conn.execute(_index.insert().values(citizen_pk=row.id, **values))

    def search(
        self,
        *,
        id_number: str | None = None,
        phone: str | None = None,
        folded_name: str | None = None,
        fold: Callable[[str], str] = str,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[CitizenRecord], int]:
        conditions: list[ColumnElement[bool]] = []
        query = select(*_CITIZEN_COLUMNS)
        if id_number:
            conditions.append(_citizen.c.citizen_id == id_number)
        if phone:
            conditions.append(_citizen.c.phone == phone)
        if folded_name:
            self._refresh_index(fold)
            escaped = folded_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.select_from(_citizen.join(_index, _index.c.citizen_pk == _citizen.c.id))
            conditions.append(_index.c.folded_name.like(f"%{escaped}%", escape="\\"))
        if not conditions:
            return [], 0
        where = and_(*conditions)
        with self._db.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.where(where).subquery())).scalar_one()
            rows = conn.execute(
                query.where(where).order_by(_citizen.c.full_name, _citizen.c.id).limit(limit).offset(offset)
            ).all()
        return [_citizen_record(r) for r in rows], int(total)

    def set_status(self, citizen_pk: str, from_status: str, to_status: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_citizen)
                .where(_citizen.c.id == citizen_pk, _citizen.c.status == from_status)
                .values(status=to_status, updated_at=now)
            )
        return result.rowcount == 1

    def remove_second_factors(self, citizen_pk: str) -> int:
        """The authenticator app, every recovery code and every passkey, in one transaction (a lost
        phone or security key); returns how many passkeys went."""
        with self._db.begin() as conn:
            conn.execute(delete(_totp).where(_totp.c.citizen_id == citizen_pk))
            conn.execute(delete(_recovery).where(_recovery.c.citizen_id == citizen_pk))
            passkeys = conn.execute(delete(_passkey).where(_passkey.c.citizen_id == citizen_pk))
        return int(passkeys.rowcount)

    def live_sessions(self, citizen_pk: str, now: int, idle_ttl: int) -> list[SessionSummary]:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_session)
                .where(
                    _session.c.citizen_id == citizen_pk,
                    _session.c.ended_at.is_(None),
                    _session.c.expires_at > now,
                    _session.c.last_seen_at > now - idle_ttl,
                )
                .order_by(_session.c.last_seen_at.desc())
            ).all()
        return [SessionSummary(r.sid, r.auth_time, r.last_seen_at, r.acr, tuple(json.loads(r.amr))) for r in rows]

    def connected_portals(self, citizen_pk: str) -> list[ConnectedPortal]:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_consent.c.client_id, _client.c.name, _consent.c.scopes, _consent.c.created_at)
                .select_from(_consent.join(_client, _client.c.id == _consent.c.client_id))
                .where(_consent.c.citizen_id == citizen_pk)
                .order_by(_client.c.name)
            ).all()
        return [ConnectedPortal(r.client_id, r.name, r.scopes, r.created_at) for r in rows]


class ClientDirectory:
    """Listing and editing portal clients; every change names its columns (no generic update).
    Each change makes `clients` forget its cached record, so this process serves the new one at once."""

    def __init__(self, db: Database, clients: Clients) -> None:
        self._db = db
        self._clients = clients

    def list(self, limit: int = 200, offset: int = 0) -> list[ClientRecord]:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_client).order_by(_client.c.name, _client.c.id).limit(limit).offset(offset)
            ).all()
        return [_client_record(r) for r in rows]

    def update_settings(
        self,
        client_id: str,
        *,
        name: str,
        redirect_uris: builtins.list[str],
        post_logout_redirect_uris: builtins.list[str],
        scopes: builtins.list[str],
        id_token_alg: str,
        min_level: str,
        backchannel_logout_uri: str | None,
        jwks: dict[str, Any] | None,
        jwks_uri: str | None,
    ) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_client)
                .where(_client.c.id == client_id)
                .values(
                    name=name,
                    redirect_uris=json.dumps(redirect_uris),
                    post_logout_redirect_uris=json.dumps(post_logout_redirect_uris),
                    scopes=" ".join(scopes),
                    id_token_alg=id_token_alg,
                    min_level=min_level,
                    backchannel_logout_uri=backchannel_logout_uri,
                    jwks=json.dumps(jwks) if jwks else None,
                    jwks_uri=jwks_uri,
                )
            )
        self._clients.forget(client_id)
        return result.rowcount == 1

    def set_disabled(self, client_id: str, disabled: bool) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(update(_client).where(_client.c.id == client_id).values(disabled=disabled))
        self._clients.forget(client_id)
        return result.rowcount == 1
