"""`jti`s that must never be accepted twice, and pushed authorization requests used once."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from idp.store.database import Database
from idp.store.tables import PushedRequest, UsedJti, table_of

_used = table_of(UsedJti)
_pushed = table_of(PushedRequest)


class UsedJtis:
    def __init__(self, db: Database) -> None:
        self._db = db

    def use(self, key: str, expires_at: int) -> bool:
        """Record the jti; False when it was already recorded (a replay). The primary key decides,
        so two racing requests with one jti have one winner."""
        with self._db.begin() as conn:
            added = conn.execute(self._db.insert_or_skip(_used).values(key=key[:200], expires_at=expires_at)).first()
        return added is not None


class PushedRequests:
    def __init__(self, db: Database) -> None:
        self._db = db

    def push(self, uri_digest: str, client_id: str, params: dict[str, list[str]], now: int, expires_at: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                _pushed.insert().values(
                    uri_digest=uri_digest,
                    client_id=client_id,
                    params=json.dumps(params),
                    created_at=now,
                    expires_at=expires_at,
                    consumed_at=None,
                )
            )

    def take(self, uri_digest: str, client_id: str, now: int) -> dict[str, Any] | None:
        """The pushed parameters, once: used, expired, or another client's gives None."""
        with self._db.begin() as conn:
            row = conn.execute(
                update(_pushed)
                .where(
                    _pushed.c.uri_digest == uri_digest,
                    _pushed.c.client_id == client_id,
                    _pushed.c.consumed_at.is_(None),
                    _pushed.c.expires_at > now,
                )
                .values(consumed_at=now)
                .returning(_pushed.c.params)
            ).first()
        return json.loads(row.params) if row else None
