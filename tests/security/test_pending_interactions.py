"""Anonymous /authorize cannot fill the database: parked logins are budgeted per address and in
all, a refusal goes back to the portal as `temporarily_unavailable`, and expired ones are pruned."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.bootstrap import open_provider
from idp.core import policy
from idp.housekeeping import Housekeeper
from idp.settings import Settings
from idp.store.tables import Interaction, table_of
from tests.helpers import ISSUER, Pkce, add_portal, authorize_params, query_of

PER_ADDRESS = 20
OVERALL = 30


@pytest.fixture
def budgeted(settings, clock) -> Iterator:
    """A provider with small budgets, so a flood is a few dozen requests."""
    limited = settings.with_overrides(interactions_per_address=PER_ADDRESS, interactions_overall=OVERALL)
    if limited.effective_database_url.startswith("sqlite"):
        limited.data_dir.mkdir(parents=True, exist_ok=True)
    provider = open_provider(limited, clock=clock)
    yield provider
    provider.store.close()


@pytest.fixture
def app(budgeted):
    return create_app(budgeted)


def browser_at_app(app, address: str) -> TestClient:
    """A browser (its own cookie jar) seen from `address`."""
    return TestClient(app, base_url=ISSUER, follow_redirects=False, client=(address, 50000))


def interactions(provider) -> int:
    with provider.store.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table_of(Interaction))).scalar_one())


def authorize(browser, portal) -> tuple[int, dict[str, str], str]:
    state = "st-flood"
    response = browser.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), state=state)))
    location = response.headers.get("location", "")
    return response.status_code, query_of(location) if "?" in location else {}, location


def flood(browser, portal, times: int) -> list[tuple[int, dict[str, str], str]]:
    return [authorize(browser, portal) for _ in range(times)]


def test_one_address_starts_at_most_its_budget_of_logins(app, budgeted):
    portal = add_portal(budgeted)
    attacker = browser_at_app(app, "198.51.100.7")

    answers = flood(attacker, portal, PER_ADDRESS + 25)

    parked = [a for a in answers if "/interaction/" in a[2]]
    refused = [a for a in answers if a[1].get("error") == "temporarily_unavailable"]
    assert len(parked) == PER_ADDRESS and len(refused) == 25
    assert interactions(budgeted) == PER_ADDRESS
    # RFC 6749 §4.1.2.1 (and RFC 9207): the error goes to the proven redirect URI with state and iss
    status, query, location = refused[0]
    assert status == 303 and location.startswith(portal.redirect_uri)
    assert query["state"] == "st-flood" and query["iss"] == budgeted.issuer


def test_another_address_still_logs_in_while_one_is_refused(app, budgeted):
    portal = add_portal(budgeted)
    flood(browser_at_app(app, "198.51.100.7"), portal, PER_ADDRESS + 5)

    _, query, location = authorize(browser_at_app(app, "203.0.113.9"), portal)

    assert "/interaction/" in location and "error" not in query


def test_addresses_of_one_ipv6_64_share_a_budget(app, budgeted):
    portal = add_portal(budgeted)
    answers = [authorize(browser_at_app(app, f"2001:db8:1:2::{n:x}"), portal) for n in range(PER_ADDRESS + 3)]

    assert sum(1 for a in answers if a[1].get("error") == "temporarily_unavailable") == 3


def test_many_addresses_together_stop_at_the_overall_budget(app, budgeted):
    portal = add_portal(budgeted)
    answers = [authorize(browser_at_app(app, f"192.0.2.{n}"), portal) for n in range(OVERALL + 10)]

    assert sum(1 for a in answers if "/interaction/" in a[2]) == OVERALL
    assert interactions(budgeted) == OVERALL


def test_the_budget_comes_back_after_an_interaction_lifetime(app, budgeted, clock):
    portal = add_portal(budgeted)
    attacker = browser_at_app(app, "198.51.100.7")
    flood(attacker, portal, PER_ADDRESS + 1)

    clock.advance(budgeted.settings.interaction_ttl + 1)

    assert "/interaction/" in authorize(attacker, portal)[2]


def test_the_account_page_login_is_budgeted_too_and_refused_with_a_page(app, budgeted):
    stranger = browser_at_app(app, "198.51.100.8")
    answers = [stranger.get("/account") for _ in range(PER_ADDRESS + 2)]

    assert [a.status_code for a in answers].count(303) == PER_ADDRESS
    assert answers[-1].status_code == 503 and answers[-1].headers["content-type"].startswith("text/html")
    assert interactions(budgeted) == PER_ADDRESS


def test_housekeeping_prunes_interactions_as_soon_as_they_expire(app, budgeted, clock):
    portal = add_portal(budgeted)
    flood(browser_at_app(app, "198.51.100.7"), portal, PER_ADDRESS)
    keeper = Housekeeper(budgeted)

    clock.advance(budgeted.settings.interaction_ttl + 1)
    pruned = keeper.run_once()

    assert pruned["interaction"] == PER_ADDRESS and interactions(budgeted) == 0


def test_the_defaults_come_from_the_policy_and_the_prune_runs_more_often_than_the_budget_window():
    defaults = Settings()

    assert defaults.interactions_per_address == policy.INTERACTIONS_PER_ADDRESS
    assert defaults.interactions_overall == policy.INTERACTIONS_OVERALL
    assert defaults.housekeeping_interval <= defaults.interaction_ttl


def test_the_budgets_are_settings_read_from_the_environment():
    settings = Settings.from_env({"IDP_INTERACTIONS_PER_ADDRESS": "5", "IDP_INTERACTIONS_OVERALL": "7"})

    assert (settings.interactions_per_address, settings.interactions_overall) == (5, 7)
