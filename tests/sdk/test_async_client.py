"""The async client runs the same flows as the sync one."""

from __future__ import annotations

import httpx
import pytest

from postid_client import AsyncPostIDClient, StateMismatch
from postid_client.testing import MockProvider

from .conftest import ISSUER, REDIRECT_URI, FakeProvider

pytestmark = pytest.mark.anyio


async def test_an_async_portal_logs_a_citizen_in_and_reads_userinfo():
    mock = MockProvider()
    mock.register_client("portal", redirect_uris=[REDIRECT_URI], client_secret="s3cret")
    mock.login_as("citizen-minh")
    async with AsyncPostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri=REDIRECT_URI,
        http_client=httpx.AsyncClient(transport=mock.transport()),
    ) as client:
        login = await client.start_login(scope="openid profile")

        tokens = await client.finish_login(mock.approve(login.url), login)
        claims = await client.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)

    assert tokens.claims.sub == claims["sub"] == "citizen-minh"
    assert claims["name"] == "Trần Văn Minh"


async def test_an_async_portal_refuses_a_forged_state(clock):
    provider = FakeProvider(clock)
    client = AsyncPostIDClient(
        ISSUER,
        "portal",
        redirect_uri=REDIRECT_URI,
        clock=clock,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(provider.handler)),
    )
    login = await client.start_login()

    with pytest.raises(StateMismatch):
        await client.finish_login({"code": "c", "state": "forged", "iss": ISSUER}, login)


async def test_an_async_portal_serves_stale_discovery_during_an_outage(clock):
    provider = FakeProvider(clock)
    client = AsyncPostIDClient(
        ISSUER, "portal", clock=clock, http_client=httpx.AsyncClient(transport=httpx.MockTransport(provider.handler))
    )
    fresh = await client.provider_metadata()
    clock.advance(3600)
    provider.down = True

    assert await client.provider_metadata() == fresh
