"""The read behind every userinfo (and introspection of an access token): whether the token's
`jti` was revoked, its grant, and the grant's citizen, in one statement, run on the connection's
own cursor (`RawRead`: SQLAlchemy's per-execution work cost ten times the query on SQLite).
"""

from __future__ import annotations

from sqlalchemy import bindparam, exists, select

from idp.store.citizens import _CITIZEN_COLUMNS, _citizen_record
from idp.store.database import Database
from idp.store.grants import _GRANT_NAMES, _grant_record
from idp.store.raw_reads import RawRead
from idp.store.records import CitizenRecord, GrantRecord
from idp.store.tables import Citizen, Grant, RevokedToken, table_of

_grant = table_of(Grant)
_citizen = table_of(Citizen)
_revoked = table_of(RevokedToken)

_CITIZEN_NAMES = [c.name for c in _CITIZEN_COLUMNS]

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
        self._read = RawRead(STATEMENT, db)

    def for_access_token(self, grant_id: str, jti: str) -> tuple[bool, GrantRecord, CitizenRecord] | None:
        """Whether `jti` was revoked, the grant `grant_id` and its citizen; None when the grant is gone."""
        row = self._read.row(grant_id=grant_id, jti=jti)
        if row is None:
            return None
        grant_values = dict(zip(_GRANT_NAMES, row[1 : 1 + len(_GRANT_NAMES)], strict=True))
        citizen_values = dict(zip(_CITIZEN_NAMES, row[1 + len(_GRANT_NAMES) :], strict=True))
        citizen = _citizen_record(citizen_values)
        grant = _grant_record({**grant_values, "citizen_active": citizen.status == "active"})
        return bool(row[0]), grant, citizen
