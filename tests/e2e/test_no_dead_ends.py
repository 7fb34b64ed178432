"""No dead end in Chromium, on a phone (390×844) and a desktop (1280×800): a double click, Back
after the portal was answered, a submit after the login page expired, a reload of the finished
registration page, registration and reset started from a portal's login page, and every error
page: each ends at the portal or on a page with a working way on."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import create_engine, text

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, codes_in_outbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def portal_browser():
    """Chromium that may go to the portal's callback on port 9: a redirect Chromium follows by
    itself (the second of a double click, Back) is not routed through Playwright, and port 9 is
    otherwise refused before any request is seen. The callback is recorded from the request."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--explicitly-allowed-ports=9"], headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(params=list(SIZES))
def browser_page(request, portal_browser):
    context = portal_browser.new_context(viewport=SIZES[request.param])
    yield context.new_page()
    context.close()


def _portal(provider, **extra):
    meta = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    rp = OAuth2Client(
        provider.client_id,
        provider.client_secret,
        scope="openid profile",
        redirect_uri=provider.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=secrets.token_urlsafe(8), ui_locales="vi", **extra
    )
    return rp, meta, url, state, verifier


def _callbacks(page, redirect_uri):
    seen: list[str] = []

    def fulfil(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>portal</h1>")

    page.route(redirect_uri + "*", fulfil)
    return seen


def _query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _log_in(page, provider):
    page.fill("#identifier", provider.id_number)
    page.fill("#password", provider.password)


def test_a_double_clicked_login_and_allow_end_at_the_portal_with_a_code_that_works(running_provider, browser_page):
    rp, meta, url, state, verifier = _portal(running_provider)
    page = browser_page
    seen = _callbacks(page, running_provider.redirect_uri)

    page.goto(url)
    _log_in(page, running_provider)
    page.dblclick("button[type=submit]")
    page.wait_for_selector("ul.scopes")
    with page.expect_request(lambda r: r.url.startswith(running_provider.redirect_uri)) as answered:
        page.dblclick("button[value=allow]")
    page.wait_for_timeout(500)  # the second click's answer, if it comes after the first

    callbacks = [*seen, answered.value.url]
    last = _query(callbacks[-1])
    assert last["state"] == state and "code" in last
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=callbacks[-1], state=state, code_verifier=verifier
    )
    assert token["id_token"]


def test_back_after_the_portal_was_answered_lands_on_the_portal_again(running_provider, browser_page):
    _, _, url, state, _ = _portal(running_provider)
    page = browser_page
    seen = _callbacks(page, running_provider.redirect_uri)
    page.goto(url)
    _log_in(page, running_provider)
    page.click("button[type=submit]")
    page.click("button[value=allow]")
    page.wait_for_url(running_provider.redirect_uri + "*")

    with page.expect_request(lambda r: r.url.startswith(running_provider.redirect_uri)) as answered:
        try:
            page.go_back(wait_until="commit")
        except PlaywrightError:  # the portal's port is closed: the request to it is what counts
            pass

    again = _query(answered.value.url)
    assert again["state"] == state and "code" in again and again["code"] != _query(seen[0])["code"]


def test_a_login_submitted_after_the_page_expired_goes_back_to_the_portal_with_login_required(
    running_provider, browser_page
):
    _, _, url, state, _ = _portal(running_provider)
    page = browser_page
    _callbacks(page, running_provider.redirect_uri)
    page.goto(url)
    _log_in(page, running_provider)
    engine = create_engine(running_provider.env["IDP_DATABASE_URL"])
    with engine.begin() as conn:  # the interaction's lifetime runs out while the page is open
        conn.execute(text("UPDATE interaction SET expires_at = 1"))
    engine.dispose()

    page.click("button[type=submit]")
    page.wait_for_url(running_provider.redirect_uri + "*")

    assert _query(page.url)["error"] == "login_required" and _query(page.url)["state"] == state


def test_registration_from_a_portal_ends_logged_in_at_the_portal_and_its_page_reloads(running_provider, browser_page):
    rp, meta, url, state, verifier = _portal(running_provider)
    page = browser_page
    _callbacks(page, running_provider.redirect_uri)
    data_dir = Path(running_provider.env["IDP_DATA_DIR"])
    page.goto(url)

    page.click("#register-link")
    page.fill("#full_name", "Vũ Thị Thu")
    page.fill("#citizen_id", "079303001234")
    page.fill("#birth_date", "2003-04-05")
    page.select_option("#sex", "female")
    page.fill("#phone", "0987 654 321")
    page.fill("#password", "mua thu la vang roi")
    page.click("button[type=submit]")
    page.wait_for_selector("#code")
    page.fill("#code", codes_in_outbox(data_dir, "+84987654321", "register")[-1])
    page.click("button[value=verify]")
    page.wait_for_selector("#continue")
    page.reload()
    assert page.locator("#continue").count() == 1
    page.click("#continue")
    page.wait_for_selector("ul.scopes")
    page.click("button[value=allow]")
    page.wait_for_url(running_provider.redirect_uri + "*")

    token = rp.fetch_token(meta["token_endpoint"], authorization_response=page.url, state=state, code_verifier=verifier)
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert (claims["amr"], claims["acr"]) == (["pwd", "sms"], "LoA1")


def test_a_reset_started_from_a_portal_leads_back_to_that_portals_login(running_provider, browser_page):
    _, _, url, state, _ = _portal(running_provider)
    page = browser_page
    _callbacks(page, running_provider.redirect_uri)
    data_dir = Path(running_provider.env["IDP_DATA_DIR"])
    page.goto(url)
    login_url = page.url

    page.click("#reset-link")
    page.fill("#identifier", running_provider.id_number)
    page.click("button[type=submit]")
    page.wait_for_selector("#code")
    page.fill("#code", codes_in_outbox(data_dir, "+84912345678", "reset")[-1])
    page.fill("#password", "bien xanh cat trang 99")
    page.click("button[type=submit]")
    page.click("#continue")

    assert page.url.split("?")[0] == login_url.split("?")[0]
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", "bien xanh cat trang 99")
    page.click("button[type=submit]")
    page.click("button[value=allow]")
    page.wait_for_url(running_provider.redirect_uri + "*")
    assert _query(page.url)["state"] == state


@pytest.mark.parametrize(
    "path",
    [
        "/interaction/no-such-interaction",
        "/register/no-such-flow",
        "/reset/no-such-flow",
        "/authorize?client_id=no-such-portal",
        "/authorize",
        "/account/no-such-page",
    ],
)
def test_every_error_page_has_a_way_on_that_works(running_provider, browser_page, path):
    page = browser_page

    response = page.goto(running_provider.issuer + path)

    assert response.status >= 400
    way_on = page.locator("#way-on")
    assert way_on.count() == 1
    way_on.click()
    page.wait_for_selector("h1")
    assert page.locator("#way-on").count() == 0 and page.locator("form").count() >= 1
