"""Browser sessions: what lets a second portal log the citizen in without a password (SSO).

The cookie holds a random id; the store keeps only its digest, so a copy of the database
cannot be replayed as a cookie. A login always starts a new session (no fixation).
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.core.provider import Provider
from idp.crypto.opaque import digest, new_token
from idp.store.records import SessionRecord


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    record: SessionRecord


def current(provider: Provider, cookie_value: str | None) -> SessionRecord | None:
    if not cookie_value or len(cookie_value) > 100:
        return None
    return provider.store.sessions.get_live(
        digest(cookie_value), provider.clock.now(), provider.settings.session_idle_ttl
    )


def start(provider: Provider, citizen_id: str, amr: list[str], acr: str) -> NewSession:
    now = provider.clock.now()
    cookie_value = new_token(provider.rng, 32)
    record = SessionRecord(
        id_digest=digest(cookie_value),
        sid=new_token(provider.rng, 16),
        citizen_id=citizen_id,
        auth_time=now,
        amr=tuple(amr),
        acr=acr,
        expires_at=now + provider.settings.session_max_ttl,
        last_seen_at=now,
    )
    provider.store.sessions.create(
        id_digest=record.id_digest,
        sid=record.sid,
        citizen_id=citizen_id,
        auth_time=now,
        amr=amr,
        acr=acr,
        expires_at=record.expires_at,
    )
    return NewSession(cookie_value, record)


def end(provider: Provider, cookie_value: str | None) -> bool:
    if not cookie_value:
        return False
    return provider.store.sessions.end(digest(cookie_value), provider.clock.now())
