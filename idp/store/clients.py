"""Portal clients, with a short per-process cache: every token request looks its client up, and
portals change rarely."""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from idp.clock import Clock
from idp.store.database import Database
from idp.store.records import ClientRecord, Conflict
from idp.store.tables import Client, table_of

_client = table_of(Client)

# A write through this repository forgets the record at once; another process sees it this late.
CLIENT_CACHE_SECONDS = 2
# Unknown ids are never cached, so only registered clients fill it; past this it starts again.
_CACHE_LIMIT = 10_000


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
        profile=row.profile,
    )


class Clients:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[str, tuple[int, ClientRecord]] = {}  # client_id → (read_at, record)
        self._lock = threading.Lock()

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
                row = conn.execute(
                    _client.insert()
                    .values(
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
                    .returning(_client)
                ).one()
        except IntegrityError:
            raise Conflict("client_id") from None
        return _client_record(row)

    def cached(self, client_id: str) -> ClientRecord | None:
        """The record while this process's copy is fresh, else None: never the database, so a
        caller on the event loop can use it and go to a worker thread only on a miss."""
        with self._lock:
            cached = self._cache.get(client_id)
        if cached is not None and self._clock.now() - cached[0] < CLIENT_CACHE_SECONDS:
            return cached[1]
        return None

    def get(self, client_id: str) -> ClientRecord | None:
        found = self.cached(client_id)
        if found is not None:
            return found
        now = self._clock.now()
        with self._db.connect() as conn:
            row = conn.execute(select(_client).where(_client.c.id == client_id)).first()
        if row is None:
            return None  # unknown ids are not cached: a flood of random ids must not grow memory
        record = _client_record(row)
        with self._lock:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            self._cache[client_id] = (now, record)
        return record

    def forget(self, client_id: str) -> None:
        """Called after every write to a client, so this process never serves the old record."""
        with self._lock:
            self._cache.pop(client_id, None)

    def set_secret_digest(self, client_id: str, secret_digest: str) -> None:
        with self._db.begin() as conn:
            conn.execute(update(_client).where(_client.c.id == client_id).values(secret_digest=secret_digest))
        self.forget(client_id)
