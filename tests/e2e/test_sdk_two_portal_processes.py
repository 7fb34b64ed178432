"""Two processes of one portal share Redis (sessions and the logout-token replay cache): a logout
token the provider POSTed to one is refused when replayed at the other, and the citizen's session
ends everywhere. The provider is the SDK's standalone mock server (`python -m postid_client.testing`),
which POSTs the logout token over HTTP as the real provider does; the portals are uvicorn processes
running tests/e2e/redis_portal_app.py."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.helpers import free_port, serving

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CITIZEN = "citizen-lan"  # one of the mock's test citizens
TIMEOUT = 10.0


@dataclass
class TwoPortals:
    provider: str
    first: str
    second: str


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "POSTID_", "PORTAL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-two-portals-{secrets.token_hex(6)}:"
    yield prefix
    with redis.Redis(host="127.0.0.1", socket_timeout=TIMEOUT) as server:
        keys = list(server.scan_iter(match=prefix + "*"))
        if keys:
            server.delete(*keys)


@pytest.fixture
def two_portals(redis_prefix: str) -> Iterator[TwoPortals]:
    """The mock provider and two processes of one portal (one client, one session secret, one
    Redis prefix); the provider's back-channel logout URI is the first process's."""
    provider_port, first_port, second_port = free_port(), free_port(), free_port()
    provider = f"http://127.0.0.1:{provider_port}"
    first, second = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
    client_id, client_secret = "two-process-portal", secrets.token_urlsafe(24)
    mock = [sys.executable, "-m", "postid_client.testing", "--port", str(provider_port), "--login-as", CITIZEN]
    # One argument with "=": a random secret may begin with "-", which a separate argument would
    # hand to argparse as an option (one run in ~64 failed to start the mock that way).
    mock += ["--client-id", client_id, f"--client-secret={client_secret}"]
    mock += ["--redirect-uri", f"{first}/callback", "--redirect-uri", f"{second}/callback"]
    mock += ["--backchannel-logout-uri", f"{first}/backchannel-logout"]
    session_secret = secrets.token_urlsafe(32)
    with ExitStack() as stack:
        stack.enter_context(serving(mock, _base_env(), f"{provider}/.well-known/openid-configuration"))
        for url, port in ((first, first_port), (second, second_port)):
            env = _base_env()
            env.update(
                POSTID_ISSUER=provider,
                POSTID_CLIENT_ID=client_id,
                POSTID_CLIENT_SECRET=client_secret,
                POSTID_REDIRECT_URI=f"{url}/callback",
                PORTAL_SESSION_SECRET=session_secret,
                PORTAL_REDIS_PREFIX=redis_prefix,
                PORTAL_REPLAY_CACHE="redis",
            )
            command = [sys.executable, "-m", "uvicorn", "--factory", "tests.e2e.redis_portal_app:create_app"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            stack.enter_context(serving(command, env, f"{url}/"))
        yield TwoPortals(provider, first, second)


def _citizen_at(http: httpx.Client, portal: str) -> str | None:
    response = http.get(f"{portal}/")
    assert response.status_code == 200, response.text
    return response.json()["sub"]


def test_a_logout_token_replayed_at_a_second_portal_process_sharing_redis_is_refused(two_portals):
    portals = two_portals
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as browser, httpx.Client(timeout=TIMEOUT) as http:
        home = browser.get(f"{portals.first}/login")  # mock → callback → the portal's home page
        assert home.status_code == 200 and home.json() == {"sub": CITIZEN}, home.text
        seen_at_second_before = _citizen_at(browser, portals.second)  # same cookie, same Redis sessions

        logout = http.post(f"{portals.provider}/mock/logout", json={"sub": CITIZEN})
        assert logout.status_code == 200, logout.text
        deliveries = logout.json()["deliveries"]
        (token,) = http.get(f"{portals.first}/received-logout-tokens").json()["tokens"]
        replayed = http.post(f"{portals.second}/backchannel-logout", data={"logout_token": token})

        assert seen_at_second_before == CITIZEN
        assert [d["status"] for d in deliveries] == [200], deliveries
        assert replayed.status_code == 400, replayed.text
        assert replayed.json() == {"error": "invalid_request", "error_description": "replayed_token"}
        assert _citizen_at(browser, portals.first) is None
        assert _citizen_at(browser, portals.second) is None
