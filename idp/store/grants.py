"""Grants and what hangs off them: authorization codes, refresh tokens, revoked access tokens.

Every single-use thing is consumed with one conditional UPDATE ... RETURNING, so of two racing
requests exactly one gets the row.

The token endpoint's statements are built once, with bind parameters, at import: building a
statement and computing its cache key cost more than executing it (~170 µs of ~200 µs on SQLite
for the grant lookup), and a prebuilt statement keeps its cache key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, bindparam, false, null, select, update
from sqlalchemy.exc import IntegrityError

from idp.store.database import Database
from idp.store.raw_reads import RawRead
from idp.store.records import CodeRecord, GrantRecord, RefreshRecord
from idp.store.tables import AnyRow, AuthorizationCode, Citizen, Grant, RefreshToken, RevokedToken, table_of

_grant = table_of(Grant)
_code = table_of(AuthorizationCode)
_refresh = table_of(RefreshToken)
_revoked = table_of(RevokedToken)
_citizen = table_of(Citizen)

_GET_GRANT = (
    select(_grant, (_citizen.c.status == "active").label("citizen_active"))
    .join(_citizen, _citizen.c.id == _grant.c.citizen_id)
    .where(_grant.c.id == bindparam("p_grant_id"))
)
_CONSUME_CODE = (
    update(_code)
    .where(
        _code.c.code_digest == bindparam("p_digest"),
        _code.c.client_id == bindparam("p_client_id"),
        _code.c.consumed_at.is_(None),
    )
    .values(consumed_at=bindparam("p_now"))
    .returning(*_code.c)
)
_INSERT_REFRESH = _refresh.insert()
_ROTATE_REFRESH = (
    update(_refresh)
    .where(
        _refresh.c.token_digest == bindparam("p_digest"),
        _refresh.c.client_id == bindparam("p_client_id"),
        _refresh.c.consumed_at.is_(None),
    )
    .values(consumed_at=bindparam("p_now"), replaced_by=bindparam("p_successor"))
    .returning(*_refresh.c)
)
_FIND_REFRESH = select(_refresh).where(_refresh.c.token_digest == bindparam("p_digest"))

# The token endpoint reads a code or a refresh token with its grant (and whether the citizen may
# still use it) in one statement; the grant's columns come back prefixed ("g_").
_GRANT_NAMES = [c.name for c in _grant.c]


def _with_grant(source: Any, key: Any) -> Any:
    joined = source.outerjoin(_grant, _grant.c.id == source.c.grant_id).outerjoin(
        _citizen, _citizen.c.id == _grant.c.citizen_id
    )
    return (
        select(
            source,
            *(_grant.c[name].label(f"g_{name}") for name in _GRANT_NAMES),
            (_citizen.c.status == "active").label("citizen_active"),
        )
        .select_from(joined)
        .where(key == bindparam("p_digest"))
    )


_CODE_WITH_GRANT = _with_grant(_code, _code.c.code_digest)
_REFRESH_WITH_GRANT = _with_grant(_refresh, _refresh.c.token_digest)

# PostgreSQL: the spend of a code or refresh token and the new refresh token in one statement, a
# data-modifying WITH that inserts only when the spend took a row: atomic on its own
# (`Database.last_write`), one round trip with no BEGIN or COMMIT. SQLite has no DML in WITH, and its
# statements cost no trip.
_NEW_REFRESH = [
    "token_digest",
    "grant_id",
    "client_id",
    "scope",
    "created_at",
    "expires_at",
    "consumed_at",
    "grace_used",
]


def _insert_refresh_if(spent: Any, *values: Any) -> Any:
    """An INSERT of one refresh token (`values` in `_NEW_REFRESH` order but the last two) for each
    row `spent` yields, as a CTE."""
    chosen = select(*values, null(), false()).select_from(spent)
    return _refresh.insert().from_select(_NEW_REFRESH, chosen, include_defaults=False).cte("successor")


def _bound(name: str) -> Any:
    return bindparam(f"p_r_{name}", type_=_refresh.c[name].type)


_consumed = _CONSUME_CODE.cte("consumed")
_REDEEM_CODE_WITH_REFRESH = select(_consumed.c.grant_id).add_cte(
    _insert_refresh_if(_consumed, *(_bound(name) for name in _NEW_REFRESH[:6]))
)
_rotated = _ROTATE_REFRESH.cte("rotated")
_ROTATE_AND_STORE_SUCCESSOR = select(_rotated).add_cte(
    _insert_refresh_if(
        _rotated,
        bindparam("p_successor", type_=_refresh.c.replaced_by.type),
        _rotated.c.grant_id,
        _rotated.c.client_id,
        _rotated.c.scope,
        bindparam("p_now", type_=_refresh.c.created_at.type),
        _rotated.c.expires_at,
    )
)


def _grant_record(row: AnyRow | Mapping[str, Any]) -> GrantRecord:
    """From a result row, or a plain mapping of the same names."""
    m = row._mapping if isinstance(row, Row) else row
    return GrantRecord(
        id=m["id"],
        citizen_id=m["citizen_id"],
        client_id=m["client_id"],
        sid=m["sid"],
        scope=m["scope"],
        auth_time=m["auth_time"],
        acr=m["acr"],
        amr=tuple(json.loads(m["amr"])),
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
        dpop_jkt=m["dpop_jkt"],
        created_at=m["created_at"],
        citizen_active=bool(m.get("citizen_active", True)),
    )


def _code_record(row: AnyRow | Mapping[str, Any]) -> CodeRecord:
    m = row._mapping if isinstance(row, Row) else row
    return CodeRecord(
        grant_id=m["grant_id"],
        client_id=m["client_id"],
        redirect_uri=m["redirect_uri"],
        code_challenge=m["code_challenge"],
        nonce=m["nonce"],
        expires_at=m["expires_at"],
        consumed_at=m["consumed_at"],
        dpop_jkt=m["dpop_jkt"],
    )


def _refresh_record(row: AnyRow | Mapping[str, Any]) -> RefreshRecord:
    m = row._mapping if isinstance(row, Row) else row
    return RefreshRecord(
        grant_id=m["grant_id"],
        client_id=m["client_id"],
        scope=m["scope"],
        expires_at=m["expires_at"],
        consumed_at=m["consumed_at"],
        replaced_by=m["replaced_by"],
        grace_used=bool(m["grace_used"]),
    )


def _grant_beside(m: Mapping[str, Any]) -> GrantRecord | None:
    """The grant of a `_with_grant` row (a `RawRead` mapping); None when it is gone."""
    if m["g_id"] is None:
        return None
    return _grant_record({**{name: m[f"g_{name}"] for name in _GRANT_NAMES}, "citizen_active": m["citizen_active"]})


class Grants:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._code_with_grant = RawRead(_CODE_WITH_GRANT, db)

    def create_with_code(self, grant: dict[str, Any], code: dict[str, Any]) -> None:
        """The grant and its authorization code appear together or not at all."""
        with self._db.begin() as conn:
            conn.execute(_grant.insert().values(**dict(grant, amr=json.dumps(grant["amr"]), revoked_at=None)))
            conn.execute(_code.insert().values(**dict(code, grant_id=grant["id"], consumed_at=None)))

    def get(self, grant_id: str) -> GrantRecord | None:
        """The grant, with whether its citizen may still use it (one query on the token hot path)."""
        with self._db.connect() as conn:
            row = conn.execute(_GET_GRANT, {"p_grant_id": grant_id}).first()
        return _grant_record(row) if row else None

    def revoke(self, grant_id: str, now: int) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_grant).where(_grant.c.id == grant_id, _grant.c.revoked_at.is_(None)).values(revoked_at=now)
            )

    def bind_dpop(self, grant_id: str, jkt: str) -> None:
        with self._db.begin() as conn:
            conn.execute(update(_grant).where(_grant.c.id == grant_id).values(dpop_jkt=jkt))

    def live_for_session(self, sid: str) -> list[GrantRecord]:
        with self._db.connect() as conn:
            rows = conn.execute(select(_grant).where(_grant.c.sid == sid, _grant.c.revoked_at.is_(None))).all()
        return [_grant_record(r) for r in rows]

    def for_citizen(self, citizen_id: str) -> list[GrantRecord]:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_grant).where(_grant.c.citizen_id == citizen_id).order_by(_grant.c.created_at.desc())
            ).all()
        return [_grant_record(r) for r in rows]

    def revoke_all_for(self, citizen_id: str, now: int, client_id: str | None = None) -> set[str]:
        """Every grant of the citizen (or of the citizen with one client) ends: tokens die with them.
        Returns the clients whose grants this call ended, so each can be told once, by this call only."""
        condition = [_grant.c.citizen_id == citizen_id, _grant.c.revoked_at.is_(None)]
        if client_id is not None:
            condition.append(_grant.c.client_id == client_id)
        with self._db.begin() as conn:
            rows = conn.execute(update(_grant).where(*condition).values(revoked_at=now).returning(_grant.c.client_id))
            return {r.client_id for r in rows}

    def consume_code(self, code_digest: str, client_id: str, now: int) -> CodeRecord | None:
        """Mark the code used and return it; None when it is unknown, used, or another client's."""
        with self._db.begin() as conn:
            row = conn.execute(_CONSUME_CODE, {"p_digest": code_digest, "p_client_id": client_id, "p_now": now}).first()
        return _code_record(row) if row else None

    def code_with_grant(self, code_digest: str) -> tuple[CodeRecord, GrantRecord | None] | None:
        """The code and its grant (None when the grant is gone), in one read; None for no such code."""
        row = self._code_with_grant.first(p_digest=code_digest)
        return (_code_record(row), _grant_beside(row)) if row else None

    def redeem_code(self, code_digest: str, client_id: str, now: int, refresh: Mapping[str, Any] | None) -> bool:
        """Spend the code and store the refresh token issued for it (`refresh`: its row's values but
        `consumed_at`, or None), as the unit's last write (`Database.last_write`); False when the
        code was spent meanwhile (or is another client's), and then nothing is stored."""
        params: dict[str, Any] = {"p_digest": code_digest, "p_client_id": client_id, "p_now": now}
        with self._db.last_write() as conn:
            if refresh is not None and conn.dialect.name == "postgresql":
                params.update({f"p_r_{name}": refresh[name] for name in _NEW_REFRESH[:6]})
                return conn.execute(_REDEEM_CODE_WITH_REFRESH, params).first() is not None
            if conn.execute(_CONSUME_CODE, params).first() is None:
                return False
            if refresh is not None:
                conn.execute(_INSERT_REFRESH, {**refresh, "consumed_at": None})
            return True


class RefreshTokens:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._with_grant = RawRead(_REFRESH_WITH_GRANT, db)

    def add(
        self, *, token_digest: str, grant_id: str, client_id: str, scope: str, created_at: int, expires_at: int
    ) -> None:
        with self._db.begin() as conn:
            conn.execute(
                _INSERT_REFRESH,
                {
                    "token_digest": token_digest,
                    "grant_id": grant_id,
                    "client_id": client_id,
                    "scope": scope,
                    "created_at": created_at,
                    "expires_at": expires_at,
                    "consumed_at": None,
                },
            )

    def with_grant(self, token_digest: str) -> tuple[RefreshRecord, GrantRecord | None] | None:
        """The refresh token and its grant (None when the grant is gone), in one read; None for no
        such token."""
        row = self._with_grant.first(p_digest=token_digest)
        return (_refresh_record(row), _grant_beside(row)) if row else None

    def rotate(self, old_digest: str, client_id: str, now: int, new_digest: str) -> RefreshRecord | None:
        """Consume the old token and store its successor (same grant, scope and end), atomically, as
        the unit's last write (`Database.last_write`); None when the old token is unknown, used,
        or another client's."""
        params = {"p_digest": old_digest, "p_client_id": client_id, "p_now": now, "p_successor": new_digest}
        try:
            with self._db.last_write() as conn:
                if conn.dialect.name == "postgresql":
                    row = conn.execute(_ROTATE_AND_STORE_SUCCESSOR, params).first()
                    return _refresh_record(row) if row else None
                row = conn.execute(_ROTATE_REFRESH, params).first()
                if row is None:
                    return None
                conn.execute(
                    _INSERT_REFRESH,
                    {
                        "token_digest": new_digest,
                        "grant_id": row.grant_id,
                        "client_id": client_id,
                        "scope": row.scope,
                        "created_at": now,
                        "expires_at": row.expires_at,
                        "consumed_at": None,
                    },
                )
        except IntegrityError:
            return None
        return _refresh_record(row)

    def retry_within_grace(
        self, old_digest: str, client_id: str, now: int, grace: int, new_digest: str
    ) -> RefreshRecord | None:
        """The one retry a client gets when it never received the successor (a lost response):
        the old token was rotated at most `grace` seconds ago, its successor was never used, and
        no retry was spent yet. The successor dies and a new one takes its place."""
        eligible = (
            _refresh.c.token_digest == old_digest,
            _refresh.c.client_id == client_id,
            _refresh.c.consumed_at >= now - grace,
            _refresh.c.grace_used.is_(False),
        )
        with self._db.begin() as conn:
            # Rows are locked in one order on every path: the presented token's first, then its
            # successor's, as a rotation takes them. Killing the successor first deadlocked on
            # PostgreSQL against a request whose failed rotation had waited for, and so still held,
            # the presented token's row. A loser holds a lock for a moment and has written nothing,
            # so no rollback is needed (none may be: a unit of work shares this transaction).
            old = conn.execute(select(_refresh.c.replaced_by).where(*eligible).with_for_update()).first()
            if old is None or old.replaced_by is None:
                return None
            killed = conn.execute(
                update(_refresh)
                .where(_refresh.c.token_digest == old.replaced_by, _refresh.c.consumed_at.is_(None))
                .values(consumed_at=now)
            ).rowcount
            if killed != 1:
                return None
            row = conn.execute(
                update(_refresh).where(*eligible).values(grace_used=True, replaced_by=new_digest).returning(*_refresh.c)
            ).first()
            if row is None:
                raise RuntimeError("refresh token changed between two statements of one transaction")
            conn.execute(
                _refresh.insert().values(
                    token_digest=new_digest,
                    grant_id=row.grant_id,
                    client_id=client_id,
                    scope=row.scope,
                    created_at=now,
                    expires_at=row.expires_at,
                    consumed_at=None,
                )
            )
        return _refresh_record(row)

    def find(self, token_digest: str) -> RefreshRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(_FIND_REFRESH, {"p_digest": token_digest}).first()
        return _refresh_record(row) if row else None


class RevokedTokens:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, jti: str, expires_at: int) -> None:
        """Already revoked is fine: revocation is idempotent (RFC 7009 §2.2)."""
        with self._db.begin() as conn:
            conn.execute(self._db.insert_or_skip(_revoked).values(jti=jti, expires_at=expires_at))

    def is_revoked(self, jti: str) -> bool:
        with self._db.connect() as conn:
            return conn.execute(select(_revoked.c.jti).where(_revoked.c.jti == jti)).first() is not None
