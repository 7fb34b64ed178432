"""A served provider answers the token endpoint, userinfo, introspection and revocation without a
worker thread, on both databases: a login storm or a slow portal holding every thread must not
stop portals from exchanging codes and reading userinfo (`Database.run_unit`: SQLite on the event
loop, PostgreSQL through the serving loop's own asyncio connections)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
import httpx
import pytest

from idp.app import create_app
from tests.helpers import ISSUER, Pkce, exchange, issued_code

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def served(provider) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, as `idp serve` runs it, through an ASGI client."""
    app = create_app(provider)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        yield http


@asynccontextmanager
async def every_worker_thread_taken() -> AsyncIterator[None]:
    limiter = anyio.to_thread.current_default_thread_limiter()
    holders = [object() for _ in range(int(limiter.total_tokens))]
    for holder in holders:
        await limiter.acquire_on_behalf_of(holder)
    try:
        yield
    finally:
        for holder in holders:
            limiter.release_on_behalf_of(holder)


async def test_code_exchange_refresh_userinfo_and_revocation_answer_while_every_worker_thread_is_taken(
    provider, portal, citizen
):
    pkce = Pkce()
    code = issued_code(provider, portal, citizen[0], pkce, scope="openid profile offline_access")["code"]

    async with served(provider) as http, every_worker_thread_taken():
        with anyio.fail_after(10):
            tokens = await exchange(http, portal, code, pkce)
            bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
            claims = await http.get("/userinfo", headers=bearer)
            refreshed = await http.post(
                "/token",
                auth=portal.basic,
                data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
            )
            access = refreshed.json()["access_token"]
            active = await http.post("/introspect", auth=portal.basic, data={"token": access})
            revoked = await http.post("/revoke", auth=portal.basic, data={"token": access})
            after = await http.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
            replayed = await exchange(http, portal, code, pkce)

    assert tokens.status_code == 200, tokens.text
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert claims.status_code == 200 and claims.json()["sub"]
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != tokens.json()["refresh_token"]
    assert active.status_code == 200 and active.json()["active"] is True
    assert revoked.status_code == 200
    assert after.status_code == 401 and after.json()["error"] == "invalid_token"


async def test_concurrent_exchanges_of_one_code_on_the_loop_give_tokens_once(provider, portal, citizen):
    """Units interleave on the serving loop (PostgreSQL: each waits for the server in its own
    greenlet): of twenty exchanges of one code sent at once, exactly one gets tokens."""
    pkce = Pkce()
    code = issued_code(provider, portal, citizen[0], pkce)["code"]
    answers: list[httpx.Response] = []

    async with served(provider) as http:

        async def one() -> None:
            answers.append(await exchange(http, portal, code, pkce))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(one)

    assert sorted(a.status_code for a in answers) == [200] + [400] * 19
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}


async def test_concurrent_refreshes_of_one_token_on_the_loop_leave_no_second_live_successor(provider, portal, citizen):
    """Eight refreshes of one token at once: one rotates it, at most one more gets the lost-answer
    retry (which kills the first successor), and the rest are replays that end the grant; none
    fails otherwise, and no successor handed out works afterwards."""
    pkce = Pkce()
    code = issued_code(provider, portal, citizen[0], pkce, scope="openid offline_access")["code"]
    answers: list[httpx.Response] = []

    async with served(provider) as http:
        token = (await exchange(http, portal, code, pkce)).json()["refresh_token"]
        form = {"grant_type": "refresh_token", "refresh_token": token}

        async def one() -> None:
            answers.append(await http.post("/token", auth=portal.basic, data=form))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(one)
            handed_out = [a.json()["refresh_token"] for a in answers if a.status_code == 200]
            afterwards = [
                await http.post("/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": t})
                for t in handed_out
            ]

    assert 1 <= len(handed_out) <= 2
    assert all(a.status_code in (200, 400) for a in answers)
    assert {a.json()["error"] for a in answers if a.status_code == 400} <= {"invalid_grant"}
    assert all(a.status_code == 400 for a in afterwards)
