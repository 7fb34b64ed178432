"""Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6) and the replay
cache that makes each one usable once."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ReplayedToken, TokenValidationError
from .id_token import check_audience, check_expiry, check_issued_at, check_issuer, check_typ

__all__ = ["BACKCHANNEL_LOGOUT_EVENT", "InMemoryReplayCache", "LogoutToken", "ReplayCache", "check_logout_token_claims"]

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class ReplayCache(Protocol):
    """Remembers token ids until they would be refused anyway. Share one (e.g. backed by Redis or
    the portal's database) between processes of a portal that runs several."""

    def add_if_new(self, key: str, expires_at: float, now: float) -> bool:
        """Record `key`; False when it was already recorded and has not expired."""
        ...


class InMemoryReplayCache:
    """A process-local replay cache; entries vanish once past their expiry."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def add_if_new(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            self._seen = {seen: until for seen, until in self._seen.items() if until > now}
            if key in self._seen:
                return False
            self._seen[key] = expires_at
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class LogoutToken:
    """A validated logout request: end the sessions with this `sid` (or, without one, every
    session of `sub`)."""

    iss: str
    sub: str | None
    sid: str | None
    jti: str
    claims: Mapping[str, Any] = field(repr=False)


def check_events(claims: Mapping[str, Any]) -> None:
    events = claims.get("events")
    if not isinstance(events, dict) or events.get(BACKCHANNEL_LOGOUT_EVENT) != {}:
        raise TokenValidationError(
            "events must hold the back-channel logout event with an empty object", code="invalid_events"
        )


def check_logout_token_claims(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    now: float,
    leeway: int,
    max_age: int,
) -> LogoutToken:
    """Every rule of §2.6 except the signature (already verified) and replay (needs the cache)."""
    if header.get("typ") is None:
        raise TokenValidationError("logout tokens must be typed logout+jwt", code="invalid_typ")
    check_typ(header, "logout+jwt")
    check_issuer(claims, issuer)
    check_audience(claims, client_id)
    check_issued_at(claims, now, leeway)
    if now - float(claims["iat"]) > max_age + leeway:
        raise TokenValidationError("logout token is too old", code="invalid_iat")
    if "exp" in claims:
        check_expiry(claims, now, leeway)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise TokenValidationError("jti is missing", code="invalid_jti")
    check_events(claims)
    if "nonce" in claims:
        raise TokenValidationError("a logout token must not carry a nonce", code="invalid_nonce")
    sub, sid = claims.get("sub"), claims.get("sid")
    if not (isinstance(sub, str) and sub) and not (isinstance(sid, str) and sid):
        raise TokenValidationError("logout token names neither sub nor sid", code="invalid_sub")
    return LogoutToken(
        iss=issuer,
        sub=sub if isinstance(sub, str) else None,
        sid=sid if isinstance(sid, str) else None,
        jti=jti,
        claims=dict(claims),
    )


def remember_jti(cache: ReplayCache, token: LogoutToken, *, now: float, leeway: int, max_age: int) -> None:
    """Keep the `jti` as long as the token could still pass the `iat` check, then forget it."""
    expires_at = float(token.claims["iat"]) + max_age + 2 * leeway
    if not cache.add_if_new(f"{token.iss} {token.jti}", expires_at, now):
        raise ReplayedToken("this logout token was already used")
