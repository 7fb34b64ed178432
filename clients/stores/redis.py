"""Sessions and the replay cache in Redis (`pip install "postid-client[redis]"`).

A session is one JSON value under `<prefix>s:<id>` expiring with the session; `<prefix>sub:<sub>`
and `<prefix>sid:<sid>` are sets of session ids so a back-channel logout finds the sessions to end.
A logout token's `jti` is `SET NX` with the token's own expiry: the first process wins, every other
sees the key and refuses the replay.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import redis
import redis.asyncio

__all__ = ["RedisReplayCache", "RedisSessionStore"]


def _ttl_ms(expires_at: float, now: float) -> int:
    return max(1, math.ceil((expires_at - now) * 1000))


class RedisSessionStore:
    """`SessionStore` on `redis.asyncio`. Give each portal (and each test) its own `prefix`."""

    def __init__(self, client: redis.asyncio.Redis, *, prefix: str = "postid:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "postid:") -> RedisSessionStore:
        return cls(redis.asyncio.Redis.from_url(url), prefix=prefix)

    def _key(self, kind: str, value: str) -> str:
        return f"{self._prefix}{kind}:{value}"

    async def load(self, session_id: str, now: float) -> dict[str, Any] | None:
        raw = await self._redis.get(self._key("s", session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) and float(data.get("expires_at", math.inf)) > now else None

    async def save(self, session_id: str, data: dict[str, Any], expires_at: float) -> None:
        # Redis forgets the key on its own clock (garbage collection); `load` decides on the portal's.
        ttl = _ttl_ms(expires_at, time.time())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key("s", session_id), json.dumps(data), px=ttl)
            user = data.get("user")
            if isinstance(user, dict):
                for kind in ("sub", "sid"):
                    if isinstance(user.get(kind), str):
                        index = self._key(kind, user[kind])
                        pipe.sadd(index, session_id)
                        pipe.pexpire(index, ttl)  # the newest session of a citizen lives longest
            await pipe.execute()

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._key("s", session_id))

    async def delete_matching(self, *, sub: str | None, sid: str | None) -> int:
        if sid is not None:
            candidates = await self._redis.smembers(self._key("sid", sid))
        elif sub is not None:
            candidates = await self._redis.smembers(self._key("sub", sub))
        else:
            return 0
        ended = 0
        for raw_id in candidates:
            session_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            raw = await self._redis.get(self._key("s", session_id))
            user = json.loads(raw).get("user") if raw else None
            if (
                isinstance(user, dict)
                and (sub is None or user.get("sub") == sub)
                and (sid is None or user.get("sid") == sid)
            ):
                ended += await self._redis.delete(self._key("s", session_id))
        return ended


class RedisReplayCache:
    """`ReplayCache` on the blocking client (the async SDK client calls it off the event loop)."""

    def __init__(self, client: redis.Redis, *, prefix: str = "postid:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "postid:") -> RedisReplayCache:
        return cls(redis.Redis.from_url(url), prefix=prefix)

    def add_if_new(self, key: str, expires_at: float, now: float) -> bool:
        return bool(self._redis.set(f"{self._prefix}jti:{key}", b"1", nx=True, px=_ttl_ms(expires_at, now)))
