"""Server-side browser sessions for the Starlette integration.

The cookie carries only a random id with an HMAC, so a back-channel logout can end a session
by deleting it here: a session held entirely in a cookie could not be ended by the provider.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import Any, Protocol

__all__ = ["InMemorySessionStore", "SessionStore", "sign_session_id", "unsign_session_id"]


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
    """A process-local store, fine for one process and for tests."""

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    async def load(self, session_id: str, now: float) -> dict[str, Any] | None:
        with self._lock:
            entry = self._sessions.get(session_id)
            if entry is None:
                return None
            if entry[1] <= now:
                del self._sessions[session_id]
                return None
            return dict(entry[0])

    async def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> None:
        with self._lock:
            self._sessions[session_id] = (dict(data), expires_at)

    async def delete(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    async def delete_matching(self, *, sub: str | None, sid: str | None) -> int:
        with self._lock:
            doomed = [
                session_id
                for session_id, (data, _) in self._sessions.items()
                if _matches(data.get("user"), sub=sub, sid=sid)
            ]
            for session_id in doomed:
                del self._sessions[session_id]
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
