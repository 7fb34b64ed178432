"""The shared stores: two instances (as two portal processes would hold) see one replay cache and
one set of sessions. Redis on 127.0.0.1:6379 with a prefix per test; SQL on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
import time

import anyio
import pytest
import redis
import sqlalchemy as sa

from postid_client.stores import RedisReplayCache, RedisSessionStore, SqlReplayCache, SqlSessionStore


def _prefix() -> str:
    return f"test-{secrets.token_hex(6)}:"


def _engine(kind: str, tmp_path) -> sa.Engine:
    if kind == "sqlite":
        return sa.create_engine(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    url = os.environ["IDP_TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"portal_{secrets.token_hex(6)}"  # a schema of its own: parallel workers never meet
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def test_a_logout_token_replayed_at_a_second_process_sharing_redis_is_refused():
    prefix, now = _prefix(), time.time()
    first, second = (RedisReplayCache(redis.Redis(host="127.0.0.1"), prefix=prefix) for _ in range(2))

    assert first.add_if_new("issuer jti-1", now + 60, now) is True
    assert second.add_if_new("issuer jti-1", now + 60, now) is False
    assert second.add_if_new("issuer jti-2", now + 60, now) is True


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_logout_token_replayed_at_a_second_process_sharing_the_database_is_refused(kind, tmp_path):
    engine = _engine(kind, tmp_path)
    first, second = SqlReplayCache(engine, create=True), SqlReplayCache(engine)
    now = time.time()

    assert first.add_if_new("issuer jti-1", now + 60, now) is True
    assert second.add_if_new("issuer jti-1", now + 60, now) is False
    assert second.add_if_new("issuer jti-1", now + 200, now + 61) is True  # expired: forgotten


def _session_round_trip(store_a, store_b) -> tuple[object, object, int, object]:
    async def run() -> tuple[object, object, int, object]:
        now = time.time()
        user = {"sub": "citizen-1", "sid": "sid-1"}
        await store_a.save("s1", {"user": user, "expires_at": now + 60}, now + 60)
        await store_a.save("s2", {"user": {"sub": "citizen-1", "sid": "sid-2"}, "expires_at": now + 60}, now + 60)
        seen = await store_b.load("s1", now)
        expired = await store_b.load("s1", now + 61)
        ended = await store_b.delete_matching(sub="citizen-1", sid="sid-1")
        return seen, expired, ended, await store_a.load("s2", now)

    return anyio.run(run)


def test_redis_sessions_are_shared_and_ended_by_sid():
    prefix = _prefix()
    a = RedisSessionStore.from_url("redis://127.0.0.1:6379", prefix=prefix)
    b = RedisSessionStore.from_url("redis://127.0.0.1:6379", prefix=prefix)

    seen, expired, ended, other = _session_round_trip(a, b)

    assert isinstance(seen, dict) and seen["user"]["sub"] == "citizen-1"
    assert expired is None and ended == 1 and isinstance(other, dict)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sql_sessions_are_shared_and_ended_by_sid(kind, tmp_path):
    engine = _engine(kind, tmp_path)

    seen, expired, ended, other = _session_round_trip(SqlSessionStore(engine, create=True), SqlSessionStore(engine))

    assert isinstance(seen, dict) and seen["user"]["sub"] == "citizen-1"
    assert expired is None and ended == 1 and isinstance(other, dict)
