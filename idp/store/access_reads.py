"""The read behind every userinfo (and introspection of an access token): whether the token's
`jti` was revoked, its grant, and the grant's citizen, in one statement.

It runs on every userinfo request, so it skips the work SQLAlchemy does per execution: building
the select (28 labelled columns), computing its cache key, looking up the compiled form and
building a result object cost ~400 µs of CPU a request on SQLite, ten times the query itself.
The statement is compiled once per database, as text, and run on the pooled connection's own
cursor (nothing is prepared on a PostgreSQL server: `engine.make_engine`). The values come back
as the driver gives them; the few it does not give in Python's type (SQLite's 0/1 for booleans,
the JSON text of `amr`) are converted here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import DBAPIError

from idp.store.citizens import _CITIZEN_COLUMNS, _citizen_record
from idp.store.database import Database
from idp.store.grants import _grant_record
from idp.store.records import CitizenRecord, GrantRecord
from idp.store.tables import Citizen, Grant, RevokedToken, table_of

_grant = table_of(Grant)
_citizen = table_of(Citizen)
_revoked = table_of(RevokedToken)

_GRANT_NAMES = [c.name for c in _grant.c]
_CITIZEN_NAMES = [c.name for c in _CITIZEN_COLUMNS]
_CITIZEN_BOOLEANS = [c.name for c in _CITIZEN_COLUMNS if c.type.python_type is bool]

STATEMENT = (
    select(
        exists().where(_revoked.c.jti == bindparam("jti")).label("jti_revoked"),
        *(_grant.c[name] for name in _GRANT_NAMES),
        *(_citizen.c[name] for name in _CITIZEN_NAMES),
    )
    .join_from(_grant, _citizen, _citizen.c.id == _grant.c.citizen_id)
    .where(_grant.c.id == bindparam("grant_id"))
)


class AccessTokenReads:
    def __init__(self, db: Database) -> None:
        self._db = db
        compiled = STATEMENT.compile(dialect=db.dialect)
        self._sql = compiled.string
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None

    def _params(self, values: Mapping[str, str]) -> Any:
        return tuple(values[name] for name in self._order) if self._order is not None else dict(values)

    def for_access_token(self, grant_id: str, jti: str) -> tuple[bool, GrantRecord, CitizenRecord] | None:
        """Whether `jti` was revoked, the grant `grant_id` and its citizen; None when the grant is gone."""
        params = self._params({"grant_id": grant_id, "jti": jti})
        with self._db.connect() as conn:
            proxied = conn.connection
            cursor = proxied.cursor()
            # The connection's own dialect: psycopg's asyncio connections (`Database.run_unit`)
            # have their own DB-API module.
            driver_error: type[Exception] = conn.dialect.loaded_dbapi.Error
            try:
                cursor.execute(self._sql, params)
                row = cursor.fetchone()
            except driver_error as exc:
                # As SQLAlchemy would: a dead connection leaves the pool, and the error is the usual
                # DBAPIError, so the fault boundary tells an outage (503) from a defect (500).
                lost = conn.dialect.is_disconnect(exc, proxied.dbapi_connection, cursor)  # type: ignore[arg-type]
                if lost:
                    conn.invalidate()
                raise DBAPIError.instance(
                    self._sql, params, exc, driver_error, hide_parameters=True, connection_invalidated=lost
                ) from exc
            finally:
                with contextlib.suppress(Exception):
                    cursor.close()
        if row is None:
            return None
        grant_values = dict(zip(_GRANT_NAMES, row[1 : 1 + len(_GRANT_NAMES)], strict=True))
        citizen_values = dict(zip(_CITIZEN_NAMES, row[1 + len(_GRANT_NAMES) :], strict=True))
        for name in _CITIZEN_BOOLEANS:
            citizen_values[name] = bool(citizen_values[name])
        citizen = _citizen_record(citizen_values)
        grant = _grant_record({**grant_values, "citizen_active": citizen.status == "active"})
        return bool(row[0]), grant, citizen
