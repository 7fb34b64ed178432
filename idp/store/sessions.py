"""Browser sessions, parked interactions and remembered consents.

The statements a password login runs are built once with bind parameters: building a statement
and its cache key cost more than running it on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from idp.store.database import Database
from idp.store.raw_reads import RawRead
from idp.store.records import InteractionRecord, SessionRecord
from idp.store.tables import BrowserSession, Citizen, Consent, Interaction, table_of

_session = table_of(BrowserSession)
_interaction = table_of(Interaction)
_consent = table_of(Consent)
_citizen = table_of(Citizen)

_ADD_SESSION = _session.insert()
_GET_INTERACTION = select(_interaction).where(_interaction.c.id == bindparam("p_id"))
_RECORD_LOGIN = (
    update(_interaction)
    .where(_interaction.c.id == bindparam("p_id"), _interaction.c.completed_at.is_(None))
    .values(
        session_digest=bindparam("p_session_digest"),
        logged_in_at=bindparam("p_now"),
        pending_citizen_id=None,
        pending_amr=None,
    )
)
_CONSENTED_SCOPES = select(_consent.c.scopes).where(
    _consent.c.citizen_id == bindparam("p_citizen_id"), _consent.c.client_id == bindparam("p_client_id")
)


class BrowserSessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, *, id_digest: str, sid: str, citizen_id: str, auth_time: int, amr: list[str], acr: str, expires_at: int
    ) -> None:
        with self._db.begin() as conn:
            conn.execute(
                _ADD_SESSION,
                {
                    "id_digest": id_digest,
                    "sid": sid,
                    "citizen_id": citizen_id,
                    "auth_time": auth_time,
                    "amr": json.dumps(amr),
                    "acr": acr,
                    "created_at": auth_time,
                    "last_seen_at": auth_time,
                    "expires_at": expires_at,
                    "ended_at": None,
                },
            )

    def get_live(self, id_digest: str, now: int, idle_ttl: int) -> SessionRecord | None:
        """The session if it is neither ended, expired, idle longer than `idle_ttl`, nor its citizen's
        account inactive (locked accounts lose SSO at once); marks it seen."""
        with self._db.begin() as conn:
            row = conn.execute(
                update(_session)
                .where(
                    _session.c.id_digest == id_digest,
                    _session.c.ended_at.is_(None),
                    _session.c.expires_at > now,
                    _session.c.last_seen_at > now - idle_ttl,
                    _session.c.citizen_id.in_(select(_citizen.c.id).where(_citizen.c.status == "active")),
                )
                .values(last_seen_at=now)
                .returning(*_session.c)
            ).first()
        if row is None:
            return None
        return SessionRecord(
            id_digest=row.id_digest,
            sid=row.sid,
            citizen_id=row.citizen_id,
            auth_time=row.auth_time,
            amr=tuple(json.loads(row.amr)),
            acr=row.acr,
            expires_at=row.expires_at,
            last_seen_at=row.last_seen_at,
            reauthenticated_at=row.reauthenticated_at,
        )

    def end_all_for(self, citizen_id: str, now: int, *, keep: str | None = None) -> None:
        """End every live session of the citizen, but the one whose digest is `keep` (the browser
        that changed the password stays signed in)."""
        with self._db.begin() as conn:
            conn.execute(
                update(_session)
                .where(
                    _session.c.citizen_id == citizen_id,
                    _session.c.ended_at.is_(None),
                    _session.c.id_digest != (keep or ""),
                )
                .values(ended_at=now)
            )

    def mark_reauthenticated(self, id_digest: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_session)
                .where(_session.c.id_digest == id_digest, _session.c.ended_at.is_(None))
                .values(reauthenticated_at=now)
            )
        return result.rowcount == 1

    def end(self, id_digest: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_session)
                .where(_session.c.id_digest == id_digest, _session.c.ended_at.is_(None))
                .values(ended_at=now)
            )
        return result.rowcount == 1


def _interaction_record(m: Mapping[str, Any]) -> InteractionRecord:
    """From a `RawRead` mapping."""
    return InteractionRecord(
        id=m["id"],
        binding_digest=m["binding_digest"],
        client_id=m["client_id"],
        request=json.loads(m["request"]),
        session_digest=m["session_digest"],
        logged_in_at=m["logged_in_at"],
        expires_at=m["expires_at"],
        completed_at=m["completed_at"],
        return_to=m["return_to"],
        pending_citizen_id=m["pending_citizen_id"],
        pending_amr=tuple(json.loads(m["pending_amr"])) if m["pending_amr"] else (),
    )


class Interactions:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._get = RawRead(_GET_INTERACTION, db)  # every page and form of a login reads it

    def create(
        self,
        *,
        id: str,
        binding_digest: str,
        client_id: str | None,
        request: dict[str, Any],
        created_at: int,
        expires_at: int,
        session_digest: str | None = None,
        return_to: str | None = None,
    ) -> None:
        with self._db.begin() as conn:
            conn.execute(
                _interaction.insert().values(
                    id=id,
                    binding_digest=binding_digest,
                    client_id=client_id,
                    request=json.dumps(request, separators=(",", ":")),
                    created_at=created_at,
                    expires_at=expires_at,
                    session_digest=session_digest,
                    return_to=return_to,
                )
            )

    def record_first_factor(self, interaction_id: str, citizen_id: str, amr: list[str]) -> None:
        """The password is proven; a second factor is still owed before a session starts."""
        with self._db.begin() as conn:
            conn.execute(
                update(_interaction)
                .where(_interaction.c.id == interaction_id, _interaction.c.completed_at.is_(None))
                .values(pending_citizen_id=citizen_id, pending_amr=json.dumps(amr))
            )

    def get(self, interaction_id: str) -> InteractionRecord | None:
        row = self._get.first(p_id=interaction_id)
        return _interaction_record(row) if row else None

    def record_login(self, interaction_id: str, session_digest: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(_RECORD_LOGIN, {"p_id": interaction_id, "p_session_digest": session_digest, "p_now": now})

    def complete(self, interaction_id: str, now: int) -> bool:
        """Close the interaction; only one of two racing finishes gets True."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_interaction)
                .where(
                    _interaction.c.id == interaction_id,
                    _interaction.c.completed_at.is_(None),
                    _interaction.c.expires_at > now,
                )
                .values(completed_at=now)
            )
        return result.rowcount == 1


class Consents:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._scopes = RawRead(_CONSENTED_SCOPES, db)

    def for_citizen(self, citizen_id: str) -> list[tuple[str, frozenset[str], int]]:
        """(client id, scopes allowed, when last changed) for each portal the citizen allowed."""
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_consent.c.client_id, _consent.c.scopes, _consent.c.updated_at).where(
                    _consent.c.citizen_id == citizen_id
                )
            ).all()
        return [(r.client_id, frozenset(r.scopes.split()), r.updated_at) for r in rows]

    def withdraw(self, citizen_id: str, client_id: str) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                delete(_consent).where(_consent.c.citizen_id == citizen_id, _consent.c.client_id == client_id)
            )
        return result.rowcount == 1

    def scopes(self, citizen_id: str, client_id: str) -> frozenset[str]:
        row = self._scopes.row(p_citizen_id=citizen_id, p_client_id=client_id)
        return frozenset(row[0].split()) if row and row[0] else frozenset()

    def remember(self, citizen_id: str, client_id: str, scopes: frozenset[str], now: int) -> None:
        """Add `scopes` to what the citizen allowed this client (never narrows a past consent here)."""
        try:
            self._merge(citizen_id, client_id, scopes, now)
        except IntegrityError:  # a parallel first consent inserted the row: merge into it
            self._merge(citizen_id, client_id, scopes, now)

    def _merge(self, citizen_id: str, client_id: str, scopes: frozenset[str], now: int) -> None:
        with self._db.begin() as conn:
            current = conn.execute(
                select(_consent.c.scopes)
                .where(_consent.c.citizen_id == citizen_id, _consent.c.client_id == client_id)
                .with_for_update()
            ).scalar()
            if current is None:
                conn.execute(
                    _consent.insert().values(
                        citizen_id=citizen_id,
                        client_id=client_id,
                        scopes=" ".join(sorted(scopes)),
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                merged = " ".join(sorted(set(current.split()) | scopes))
                conn.execute(
                    update(_consent)
                    .where(_consent.c.citizen_id == citizen_id, _consent.c.client_id == client_id)
                    .values(scopes=merged, updated_at=now)
                )
