"""Sessions and the replay cache in the portal's own database (`pip install "postid-client[sql]"`).

SQLAlchemy Core, so the same code runs on SQLite and PostgreSQL (and whatever else the portal
already uses), with single statements on the hot paths; the stdlib `sqlite3` would have tied the
store to one file on one machine, which is exactly what a multi-process portal can't share.
Calls are blocking and short: the async session store runs them in a worker thread.

`create_tables()` creates the two tables if missing; a portal with migrations copies their shape.
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

__all__ = ["SqlReplayCache", "SqlSessionStore", "create_tables"]

_metadata = sa.MetaData()

sessions_table = sa.Table(
    "postid_sessions",
    _metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
    sa.Column("sub", sa.String(255), index=True),
    sa.Column("sid", sa.String(255), index=True),
)

replay_table = sa.Table(
    "postid_replay_cache",
    _metadata,
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)


def create_tables(engine: sa.Engine) -> None:
    _metadata.create_all(engine)


class SqlSessionStore:
    """`SessionStore` on a SQLAlchemy engine. Expired rows are swept on save, a few at a time."""

    def __init__(self, engine: sa.Engine, *, create: bool = False) -> None:
        self._engine = engine
        if create:
            create_tables(engine)

    async def load(self, session_id: str, now: float) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(self._load, session_id, now)

    def _load(self, session_id: str, now: float) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(sessions_table.c.data).where(
                    sessions_table.c.id == session_id, sessions_table.c.expires_at > now
                )
            ).first()
        if row is None:
            return None
        data = json.loads(row[0])
        return data if isinstance(data, dict) else None

    async def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> None:
        await anyio.to_thread.run_sync(self._save, session_id, data, expires_at)

    def _save(self, session_id: str, data: dict[str, Any], expires_at: float) -> None:
        found = data.get("user")
        user: dict[str, Any] = found if isinstance(found, dict) else {}
        values = {
            "data": json.dumps(data),
            "expires_at": expires_at,
            "sub": user.get("sub") if isinstance(user.get("sub"), str) else None,
            "sid": user.get("sid") if isinstance(user.get("sid"), str) else None,
        }
        update = sa.update(sessions_table).where(sessions_table.c.id == session_id).values(**values)
        with self._engine.begin() as connection:
            if connection.execute(update).rowcount:
                return
        try:
            with self._engine.begin() as connection:
                connection.execute(sa.insert(sessions_table).values(id=session_id, **values))
        except IntegrityError:  # two requests of one new session raced: the row exists now
            with self._engine.begin() as connection:
                connection.execute(update)

    async def delete(self, session_id: str) -> None:
        await anyio.to_thread.run_sync(self._delete, session_id)

    def _delete(self, session_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(sessions_table).where(sessions_table.c.id == session_id))

    async def delete_matching(self, *, sub: str | None, sid: str | None) -> int:
        return await anyio.to_thread.run_sync(self._delete_matching, sub, sid)

    def _delete_matching(self, sub: str | None, sid: str | None) -> int:
        if sid is not None:
            condition = sessions_table.c.sid == sid
            if sub is not None:
                condition = sa.and_(condition, sessions_table.c.sub == sub)
        elif sub is not None:
            condition = sessions_table.c.sub == sub
        else:
            return 0
        with self._engine.begin() as connection:
            return int(connection.execute(sa.delete(sessions_table).where(condition)).rowcount)

    def delete_expired(self, now: float) -> int:
        """Housekeeping for a cron job or a periodic task."""
        with self._engine.begin() as connection:
            return int(connection.execute(sa.delete(sessions_table).where(sessions_table.c.expires_at <= now)).rowcount)


class SqlReplayCache:
    """`ReplayCache` on a SQLAlchemy engine: the primary key makes the first insert the only winner,
    across processes and machines."""

    def __init__(self, engine: sa.Engine, *, create: bool = False) -> None:
        self._engine = engine
        if create:
            create_tables(engine)

    def add_if_new(self, key: str, expires_at: float, now: float) -> bool:
        with self._engine.begin() as connection:
            connection.execute(
                sa.delete(replay_table).where(replay_table.c.key == key, replay_table.c.expires_at <= now)
            )
        try:
            with self._engine.begin() as connection:
                connection.execute(sa.insert(replay_table).values(key=key, expires_at=expires_at))
        except IntegrityError:
            return False
        return True
