"""A portal process for tests/e2e/test_sdk_two_portal_processes.py: `PostIDAuth` with its sessions and
its logout-token replay cache in Redis, configured from the environment, so that several uvicorn
processes can serve one portal as production would.

    POSTID_ISSUER, POSTID_CLIENT_ID, POSTID_CLIENT_SECRET, POSTID_REDIRECT_URI   the portal
    PORTAL_SESSION_SECRET    shared by every process: a cookie from one is valid at the others
    PORTAL_REDIS_PREFIX      one per test, so tests sharing the Redis server never meet
    PORTAL_REPLAY_CACHE      "redis" (default) or "memory", to show what a per-process cache lets through

`GET /` answers the session's citizen as JSON; `GET /received-logout-tokens` lists the logout tokens
this process was POSTed, so a test can replay one at another process."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from postid_client import AsyncPostIDClient
from postid_client.logout_token import InMemoryReplayCache, ReplayCache
from postid_client.starlette_auth import PostIDAuth
from postid_client.stores import RedisReplayCache, RedisSessionStore

REDIS_URL = "redis://127.0.0.1:6379"


def create_app() -> Starlette:
    env = os.environ
    prefix = env["PORTAL_REDIS_PREFIX"]
    replay_cache: ReplayCache = (
        InMemoryReplayCache()
        if env.get("PORTAL_REPLAY_CACHE") == "memory"
        else RedisReplayCache.from_url(REDIS_URL, prefix=prefix)
    )
    client = AsyncPostIDClient(
        env["POSTID_ISSUER"],
        env["POSTID_CLIENT_ID"],
        client_secret=env["POSTID_CLIENT_SECRET"],
        redirect_uri=env["POSTID_REDIRECT_URI"],
        replay_cache=replay_cache,
    )
    auth = PostIDAuth(
        client,
        session_secret=env["PORTAL_SESSION_SECRET"],
        store=RedisSessionStore.from_url(REDIS_URL, prefix=prefix),
        fetch_userinfo=False,
    )
    received: list[str] = []

    async def home(request: Request) -> Response:
        user = request.state.user
        return JSONResponse({"sub": user.sub if user is not None else None})

    async def backchannel_logout(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")  # cached: auth reads it again
        received.append(dict(parse_qsl(body)).get("logout_token", ""))
        return await auth.backchannel_logout(request)

    async def received_logout_tokens(request: Request) -> Response:
        return JSONResponse({"tokens": received})

    return Starlette(
        routes=[
            Route("/", home),
            Route("/backchannel-logout", backchannel_logout, methods=["POST"]),  # ahead of auth's own
            Route("/received-logout-tokens", received_logout_tokens),
            *auth.routes,
        ],
        middleware=[auth.middleware],
    )
