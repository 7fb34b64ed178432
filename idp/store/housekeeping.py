"""Pruning what has expired, and the few numbers operators read from the tables.

Deletes run in batches (by primary key, a bounded number of rows per statement and
transaction), so a large backlog never holds long locks against the hot path. Nothing here is
needed for correctness: every reader already ignores expired rows; pruning only keeps the
tables small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, delete, func, or_, select

from idp.store.database import Database
from idp.store.outbox import PENDING, OutboxMessage
from idp.store.tables import (
    AttemptBudget,
    AuthFailure,
    AuthorizationCode,
    BrowserSession,
    Flow,
    Grant,
    Interaction,
    KnownDevice,
    OtpChallenge,
    PushedRequest,
    RateCounter,
    RefreshToken,
    RevokedToken,
    UsedJti,
    table_of,
)

BATCH = 2000

_code = table_of(AuthorizationCode)
_refresh = table_of(RefreshToken)
_grant = table_of(Grant)
_revoked = table_of(RevokedToken)
_session = table_of(BrowserSession)
_interaction = table_of(Interaction)
_flow = table_of(Flow)
_challenge = table_of(OtpChallenge)
_counter = table_of(RateCounter)
_outbox = table_of(OutboxMessage)
_failure = table_of(AuthFailure)
_used_jti = table_of(UsedJti)
_pushed = table_of(PushedRequest)
_budget = table_of(AttemptBudget)
_device = table_of(KnownDevice)


@dataclass(frozen=True)
class Horizon:
    """What counts as prunable at `now`.

    `grace` keeps rows a little past their expiry (a late request still gets "expired" rather
    than "unknown"); `finished_outbox_retention` keeps sent and failed messages' redacted text
    for support; `session_idle_ttl` lets idle sessions go once they can no longer be resumed;
    `grant_grace` keeps a revoked or ended grant until every access token that names it has
    expired (access-token lifetime plus clock leeway).
    """

    now: int
    grace: int = 3600
    session_idle_ttl: int = 1800
    grant_grace: int = 360
    finished_outbox_retention: int = 7 * 86400
    device_ttl: int = 365 * 86400  # a known device unused this long is a stranger again


class Housekeeping:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _delete_batched(self, table: Table, key: Column[Any], condition: ColumnElement[bool]) -> int:
        total = 0
        while True:
            with self._db.begin() as conn:
                keys = select(key).where(condition).limit(BATCH).scalar_subquery()
                deleted = conn.execute(delete(table).where(key.in_(keys))).rowcount or 0
            total += deleted
            if deleted < BATCH:
                return total

    def prune(self, horizon: Horizon) -> dict[str, int]:
        """Delete expired rows table by table; returns how many rows went from each table."""
        now, cutoff = horizon.now, horizon.now - horizon.grace
        ended_grants = select(_grant.c.id).where(
            or_(
                _grant.c.expires_at < now - horizon.grant_grace,
                _grant.c.revoked_at < now - horizon.grant_grace,
            )
        )
        pruned = {
            "authorization_code": self._delete_batched(
                _code, _code.c.code_digest, or_(_code.c.expires_at < cutoff, _code.c.grant_id.in_(ended_grants))
            ),
            "refresh_token": self._delete_batched(
                _refresh,
                _refresh.c.token_digest,
                or_(_refresh.c.expires_at < cutoff, _refresh.c.grant_id.in_(ended_grants)),
            ),
        }
        # A grant goes once nothing hangs off it any more.
        orphan = and_(
            _grant.c.id.in_(ended_grants),
            ~_grant.c.id.in_(select(_code.c.grant_id)),
            ~_grant.c.id.in_(select(_refresh.c.grant_id)),
        )
        pruned["auth_grant"] = self._delete_batched(_grant, _grant.c.id, orphan)
        pruned["revoked_token"] = self._delete_batched(_revoked, _revoked.c.jti, _revoked.c.expires_at < now)
        pruned["browser_session"] = self._delete_batched(
            _session,
            _session.c.id_digest,
            or_(
                _session.c.expires_at < cutoff,
                _session.c.ended_at < cutoff,
                _session.c.last_seen_at < cutoff - horizon.session_idle_ttl,
            ),
        )
        # No grace for interactions: an expired one and an unknown one get the same page, and
        # anonymous /authorize makes them at the rate the interaction budgets allow.
        pruned["interaction"] = self._delete_batched(_interaction, _interaction.c.id, _interaction.c.expires_at < now)
        pruned["flow"] = self._delete_batched(_flow, _flow.c.id, _flow.c.expires_at < cutoff)
        pruned["otp_challenge"] = self._delete_batched(_challenge, _challenge.c.id, _challenge.c.expires_at < cutoff)
        pruned["rate_counter"] = self._delete_batched(_counter, _counter.c.key, _counter.c.window_ends_at < now)
        # A jti is remembered only while a token bearing it could still be accepted.
        pruned["used_jti"] = self._delete_batched(_used_jti, _used_jti.c.key, _used_jti.c.expires_at < now)
        pruned["attempt_budget"] = self._delete_batched(_budget, _budget.c.key, _budget.c.expires_at < now)
        pruned["pushed_request"] = self._delete_batched(_pushed, _pushed.c.uri_digest, _pushed.c.expires_at < cutoff)
        pruned["outbox"] = self._delete_batched(
            _outbox,
            _outbox.c.id,
            and_(_outbox.c.status != PENDING, _outbox.c.finished_at < now - horizon.finished_outbox_retention),
        )
        with self._db.begin() as conn:
            # Cleared failure counters (nothing to remember) carry no information.
            pruned["auth_failure"] = (
                conn.execute(
                    delete(_failure).where(
                        _failure.c.consecutive == 0,
                        _failure.c.locked.is_(False),
                        _failure.c.blocked_until <= now,
                        _failure.c.updated_at < cutoff,
                    )
                ).rowcount
                or 0
            )
            # Not batched by key: a browser known to two accounts shares its digest between rows.
            pruned["known_device"] = (
                conn.execute(delete(_device).where(_device.c.last_used_at < now - horizon.device_ttl)).rowcount or 0
            )
        return pruned

    def outbox_pending(self) -> int:
        with self._db.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(_outbox).where(_outbox.c.status == PENDING)).scalar_one()
            )

    def counts(self) -> dict[str, int]:
        """Rows per prunable table (for `idp housekeeping --dry-run` and tests)."""
        tables = {
            "authorization_code": _code,
            "refresh_token": _refresh,
            "auth_grant": _grant,
            "revoked_token": _revoked,
            "browser_session": _session,
            "interaction": _interaction,
            "flow": _flow,
            "otp_challenge": _challenge,
            "rate_counter": _counter,
            "outbox": _outbox,
            "auth_failure": _failure,
            "attempt_budget": _budget,
            "known_device": _device,
        }
        with self._db.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for name, t in tables.items()
            }
