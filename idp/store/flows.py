"""Self-service flows (registration, password reset, phone change)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from idp.store.database import Database
from idp.store.tables import Flow, table_of

_flow = table_of(Flow)


@dataclass(frozen=True)
class FlowRecord:
    id: str
    kind: str
    binding_digest: str
    citizen_id: str | None
    data: dict[str, Any]
    expires_at: int
    completed_at: int | None


class Flows:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        id: str,
        kind: str,
        binding_digest: str,
        citizen_id: str | None,
        data: dict[str, Any],
        created_at: int,
        expires_at: int,
    ) -> None:
        with self._db.begin() as conn:
            conn.execute(
                _flow.insert().values(
                    id=id,
                    kind=kind,
                    binding_digest=binding_digest,
                    citizen_id=citizen_id,
                    data=json.dumps(data),
                    created_at=created_at,
                    expires_at=expires_at,
                )
            )

    def get(self, flow_id: str) -> FlowRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(select(_flow).where(_flow.c.id == flow_id)).first()
        if row is None:
            return None
        return FlowRecord(
            row.id, row.kind, row.binding_digest, row.citizen_id, json.loads(row.data), row.expires_at, row.completed_at
        )

    def complete(self, flow_id: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_flow)
                .where(_flow.c.id == flow_id, _flow.c.completed_at.is_(None), _flow.c.expires_at > now)
                .values(completed_at=now)
            )
        return result.rowcount == 1

    def take(self, flow_id: str, now: int) -> bool:
        """`complete`, and the row's data wiped in the same statement: for a flow that carries
        something to hand over exactly once (a sealed secret), the winner has read it already."""
        with self._db.begin() as conn:
            result = conn.execute(
                update(_flow)
                .where(_flow.c.id == flow_id, _flow.c.completed_at.is_(None), _flow.c.expires_at > now)
                .values(completed_at=now, data="{}")
            )
        return result.rowcount == 1
