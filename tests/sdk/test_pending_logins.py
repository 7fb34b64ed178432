"""Anonymous `/login` hits cannot grow a portal's memory: a session that only holds logins in
progress lives as long as a login takes, and the in-memory store keeps a bounded number of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from postid_client import AsyncPostIDClient
from postid_client.sessions import MAX_PENDING_LOGINS, InMemorySessionStore
from postid_client.starlette_auth import LOGIN_LIFETIME, LOGINS_PER_ADDRESS, SESSION_LIFETIME, PostIDAuth
from postid_client.testing import MockProvider

from .conftest import FakeClock

PORTAL = "http://127.0.0.1:8001"
CAP = 50


@pytest.fixture
def mock() -> MockProvider:
    provider = MockProvider()
    provider.register_client("portal", redirect_uris=[f"{PORTAL}/callback"], client_secret="portal-secret")
    return provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> InMemorySessionStore:
    return InMemorySessionStore(max_pending_logins=CAP)


def portal_app(mock: MockProvider, store: InMemorySessionStore, clock: FakeClock, **options: Any) -> Starlette:
    client = AsyncPostIDClient(
        mock.issuer,
        "portal",
        client_secret="portal-secret",
        redirect_uri=f"{PORTAL}/callback",
        http_client=httpx.AsyncClient(transport=mock.transport()),
    )
    auth = PostIDAuth(client, session_secret="k" * 32, store=store, clock=clock, **options)
    return Starlette(routes=auth.routes, middleware=[auth.middleware])


@pytest.fixture
def portal(mock, store, clock) -> Iterator[TestClient]:
    """The store's own cap under test: the per-address budget is off (a flood from many addresses)."""
    app = portal_app(mock, store, clock, logins_per_address=None)
    with TestClient(app, base_url=PORTAL, follow_redirects=False) as browser:
        yield browser


def anonymous_login(portal: TestClient) -> httpx.Response:
    portal.cookies.clear()  # a script keeps no cookie: every hit is a new session
    return portal.get("/login")


def log_in(portal: TestClient, mock: MockProvider, citizen: str = "citizen-lan") -> None:
    to_provider = portal.get("/login")
    back = portal.get(mock.approve(to_provider.headers["location"], citizen=citizen))
    assert back.status_code == 303, back.text


def test_two_thousand_anonymous_logins_keep_at_most_the_cap_of_sessions(portal, store):
    answers = [anonymous_login(portal).status_code for _ in range(2_000)]

    assert set(answers) == {302}
    assert len(store) <= CAP


def test_a_logged_in_citizen_is_never_evicted_by_a_flood_of_anonymous_logins(portal, store, mock):
    log_in(portal, mock)

    for _ in range(3 * CAP):
        anonymous_login(portal)

    assert len(store) == CAP + 1
    assert [data["user"]["sub"] for data, _ in store._sessions.values() if "user" in data] == ["citizen-lan"]


def test_the_newest_login_survives_a_flood_and_finishes(portal, store, mock):
    for _ in range(3 * CAP):
        anonymous_login(portal)
    portal.cookies.clear()

    log_in(portal, mock)

    assert sum(1 for data, _ in store._sessions.values() if "user" in data) == 1


def test_a_session_holding_only_a_login_lasts_as_long_as_a_login(portal, store, clock):
    anonymous_login(portal)
    (_, expires_at), *_ = store._sessions.values()

    assert expires_at == clock() + LOGIN_LIFETIME < clock() + SESSION_LIFETIME


def test_an_abandoned_login_is_gone_after_the_login_lifetime(portal, store, clock, mock):
    started = portal.get("/login")
    clock.now += LOGIN_LIFETIME + 1

    back = portal.get(mock.approve(started.headers["location"], citizen="citizen-lan"))

    assert back.status_code == 400 and len(store) == 0  # an unknown state: start again


def test_the_default_cap_is_bounded():
    assert InMemorySessionStore()._max_pending == MAX_PENDING_LOGINS <= 100_000


def test_one_address_starting_logins_without_cookies_is_stopped_at_its_budget(mock, store, clock):
    app = portal_app(mock, store, clock)
    with TestClient(app, base_url=PORTAL, follow_redirects=False) as browser:
        answers = [anonymous_login(browser).status_code for _ in range(200)]

    assert answers.count(302) == LOGINS_PER_ADDRESS and answers.count(429) == 200 - LOGINS_PER_ADDRESS
    assert len(store) == LOGINS_PER_ADDRESS


def test_the_budget_of_one_address_leaves_other_addresses_alone(mock, store, clock):
    app = portal_app(mock, store, clock, client_address=lambda connection: connection.headers.get("x-test-ip", ""))
    with TestClient(app, base_url=PORTAL, follow_redirects=False) as browser:
        for _ in range(LOGINS_PER_ADDRESS + 5):
            browser.cookies.clear()
            browser.get("/login", headers={"x-test-ip": "203.0.113.7"})
        browser.cookies.clear()
        other = browser.get("/login", headers={"x-test-ip": "198.51.100.1"})

    assert other.status_code == 302
