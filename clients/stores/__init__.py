"""Where a portal keeps its sessions and the back-channel logout replay cache.

- `InMemorySessionStore`, `InMemoryReplayCache`: one process, and tests.
- `RedisSessionStore`, `RedisReplayCache` (`redis` extra): several processes or machines.
- `SqlSessionStore`, `SqlReplayCache` (`sql` extra): the portal's own database (SQLite or
  PostgreSQL through SQLAlchemy Core), for portals that run several processes but no Redis.

Each shared store takes a `prefix` (Redis) or table names (SQL), so two portals, or two test runs,
can share a server without seeing each other's keys.
"""

from __future__ import annotations

from ..logout_token import InMemoryReplayCache, ReplayCache
from ..sessions import InMemorySessionStore, SessionStore

__all__ = [
    "InMemoryReplayCache",
    "InMemorySessionStore",
    "RedisReplayCache",
    "RedisSessionStore",
    "ReplayCache",
    "SessionStore",
    "SqlReplayCache",
    "SqlSessionStore",
]


def __getattr__(name: str) -> object:
    """The Redis and SQL stores import their driver only when asked for."""
    if name in ("RedisSessionStore", "RedisReplayCache"):
        from . import redis as module
    elif name in ("SqlSessionStore", "SqlReplayCache"):
        from . import sql as module  # type: ignore[no-redef]
    else:
        raise AttributeError(name)
    return getattr(module, name)
