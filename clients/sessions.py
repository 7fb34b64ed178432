"""Server-side browser sessions for the Starlette integration.

The cookie carries only a random id with an HMAC, so a back-channel logout can end a session
by deleting it here: a session held entirely in a cookie could not be ended by the provider.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from typing import Any, Protocol

__all__ = ["MAX_PENDING_LOGINS", "InMemorySessionStore", "SessionStore", "sign_session_id", "unsign_session_id"]

MAX_PENDING_LOGINS = 10_000
"""Sessions without a citizen (logins started, not finished) an `InMemorySessionStore` keeps at
most. Anyone can start a login with one anonymous GET, so these must not grow without bound;
sessions with a citizen cost a real login at the provider and are never evicted for them."""


class SessionStore(Protocol):
    """Where sessions live. Portals running several processes plug in a shared store."""

    async def load(self, session_id: str, now: float) -> dict[str, Any] | None: ...

    async def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> None: ...

    async def delete(self, session_id: str) -> None: ...

    async def delete_matching(self, *, sub: str | None, sid: str | None) -> int:
        """End the sessions of this provider session (`sid`), or of the whole subject when the
        logout token names no `sid`; returns how many ended."""
        ...


class InMemorySessionStore:
    """A process-local store, fine for one process and for tests.

    Past `max_pending_logins` sessions that hold no `user`, the oldest of them is dropped (its
    browser's login, if it ever comes back, is refused as an unknown `state` and starts again)."""

    def __init__(self, max_pending_logins: int = MAX_PENDING_LOGINS) -> None:
        self._sessions: dict[str, tuple[dict[str, Any], float]] = {}
        self._anonymous: OrderedDict[str, None] = OrderedDict()  # sessions without a user, oldest first
        self._max_pending = max_pending_logins
        self._lock = threading.Lock()

    async def load(self, session_id: str, now: float) -> dict[str, Any] | None:
        with self._lock:
            entry = self._sessions.get(session_id)
            if entry is None:
                return None
            if entry[1] <= now:
                self._drop(session_id)
                return None
            return dict(entry[0])

    async def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> None:
        with self._lock:
            self._sessions[session_id] = (dict(data), expires_at)
            if isinstance(data.get("user"), dict):
                self._anonymous.pop(session_id, None)
                return
            self._anonymous[session_id] = None
            self._anonymous.move_to_end(session_id)
            while len(self._anonymous) > self._max_pending:
                self._drop(next(iter(self._anonymous)))

    async def delete(self, session_id: str) -> None:
        with self._lock:
            self._drop(session_id)

    def _drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self._anonymous.pop(session_id, None)

    async def delete_matching(self, *, sub: str | None, sid: str | None) -> int:
        with self._lock:
            doomed = [
                session_id
                for session_id, (data, _) in self._sessions.items()
                if _matches(data.get("user"), sub=sub, sid=sid)
            ]
            for session_id in doomed:
                self._drop(session_id)
            return len(doomed)

    def __len__(self) -> int:
        return len(self._sessions)


def _matches(user: Any, *, sub: str | None, sid: str | None) -> bool:
    if not isinstance(user, dict):
        return False
    if sid is not None:
        return bool(user.get("sid") == sid and (sub is None or user.get("sub") == sub))
    return sub is not None and user.get("sub") == sub


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def sign_session_id(session_id: str, secret: bytes) -> str:
    mac = hmac.new(secret, session_id.encode("ascii"), hashlib.sha256).hexdigest()
    return f"{session_id}.{mac}"


def unsign_session_id(cookie: str, secret: bytes) -> str | None:
    session_id, _, mac = cookie.rpartition(".")
    if not session_id:
        return None
    expected = hmac.new(secret, session_id.encode("ascii", "replace"), hashlib.sha256).hexdigest()
    return session_id if hmac.compare_digest(mac.encode(), expected.encode()) else None
