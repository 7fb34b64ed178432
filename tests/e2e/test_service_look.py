"""Issue 15, items 5-7, in Chromium on a phone (390×844) and a desktop (1280×800): the error summary
takes the focus and leads to the field, fields in error say so, dates read day first on Vietnam's
clock, withdrawal is asked first, every page names its operator, help line and privacy notice,
fetches nothing from another origin and never scrolls sideways, and recovery codes print cleanly."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from playwright.sync_api import Page, expect
from sqlalchemy import text

from idp.crypto.totp import totp_code
from idp.i18n import t
from idp.settings import Settings
from idp.store.engine import make_engine

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
# 2026-11-29 14:00 UTC: issue 15 saw it printed "2026-11-29 14:00 UTC"; a Vietnamese reads 21:00.
KNOWN_INSTANT = 1795960800
SCREENSHOTS = Path("test-results/screenshots")


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def browser_page(chromium, size, running_provider):
    """A page whose every request is recorded, to hold the pages to our own origin."""
    context = chromium.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(r.url))  # type: ignore[attr-defined]
    yield page
    context.close()


def _foreign(page: Page, issuer: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        url
        for url in page.requests  # type: ignore[attr-defined]
        if not url.startswith((issuer + "/", "data:", *allowed))
    ]


def _fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _shot(page: Page, name: str, size: str) -> None:
    """Saved by the run (never committed) for a reviewer to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)


def _portal_login_url(provider):
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
        meta["authorization_endpoint"], code_verifier=verifier, nonce=secrets.token_urlsafe(8), ui_locales="vi"
    )
    return rp, meta, url, state, verifier


def _focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_a_keyboard_login_with_a_wrong_password_focuses_the_summary_whose_link_leads_to_the_field(
    running_provider, browser_page, size
):
    page = browser_page
    _, _, url, _, _ = _portal_login_url(running_provider)
    page.goto(url)
    assert _focused_id(page) == "identifier"

    page.keyboard.type(running_provider.id_number)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password at all")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")

    summary = page.locator("#error-summary")
    assert _focused_id(page) == "error-summary"
    assert (summary.get_attribute("role"), summary.get_attribute("tabindex")) == ("alert", "-1")
    assert page.title().startswith("Lỗi:")
    link = summary.locator("a")
    expect(link).to_have_text(t("vi", "login.failed"))
    assert link.get_attribute("href") == "#password"
    password = page.locator("#password")
    assert password.get_attribute("aria-invalid") == "true"
    assert password.get_attribute("aria-describedby") == "password-error"
    expect(page.locator("#password-error")).to_contain_text(t("vi", "login.failed"))
    assert _fits(page)
    _shot(page, "login-error", size)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#password"
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'password'")

    assert _focused_id(page) == "password"
    assert _foreign(page, running_provider.issuer) == []


def test_registration_hints_are_linked_to_their_fields_and_a_refused_password_is_tied_to_its_field(
    running_provider, browser_page, size
):
    page = browser_page
    page.goto(f"{running_provider.issuer}/register")
    password = page.locator("#password")
    assert password.get_attribute("aria-describedby") == "password-hint"
    assert page.locator("#birth_date").get_attribute("aria-describedby") == "birth_date-hint"
    expect(page.locator("#birth_date-hint")).to_contain_text("05/04/2003")
    assert password.get_attribute("aria-invalid") is None

    page.fill("#full_name", "Vũ Thị Thu")
    page.fill("#citizen_id", "079303001234")
    page.fill("#birth_date", "2003-04-05")
    page.select_option("#sex", "female")
    page.fill("#phone", "0987 654 321")
    page.fill("#password", "password123")
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")

    assert _focused_id(page) == "error-summary"
    assert page.locator("#error-summary a").get_attribute("href") == "#password"
    assert password.get_attribute("aria-invalid") == "true"
    assert password.get_attribute("aria-describedby") == "password-hint password-error"
    assert page.locator("#full_name").get_attribute("aria-invalid") is None
    assert _fits(page)
    _shot(page, "register-error", size)
    page.click("#error-summary a")
    assert _focused_id(page) == "password"
    assert _foreign(page, running_provider.issuer) == []


def test_the_account_shows_vietnam_time_and_the_level_in_words_and_withdrawal_asks_first(
    running_provider, browser_page, size
):
    rp, meta, url, state, verifier = _portal_login_url(running_provider)
    page = browser_page
    page.route(
        running_provider.redirect_uri + "*",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>portal</h1>"),
    )
    page.goto(url)
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", running_provider.password)
    page.click("button[type=submit]")
    page.click("button[value=allow]")
    page.wait_for_url(running_provider.redirect_uri + "*")
    rp.fetch_token(meta["token_endpoint"], authorization_response=page.url, state=state, code_verifier=verifier)
    engine = make_engine(Settings.from_env(running_provider.env).effective_database_url)
    with engine.begin() as conn:  # the portal last signed the citizen in at a known instant
        conn.execute(text("UPDATE auth_grant SET created_at = :at"), {"at": KNOWN_INSTANT})
    engine.dispose()

    page.goto(f"{running_provider.issuer}/account")

    service = page.locator("#connected > li")
    expect(service.locator("time")).to_have_text("29/11/2026 21:00")
    assert service.locator("time").get_attribute("datetime") == "2026-11-29T21:00+07:00"
    expect(page.locator("#level")).to_have_text("Đã xác minh số điện thoại (mức 1)")
    expect(service.locator("ul.scopes li")).to_have_count(2)
    footer = page.locator("#footer")
    expect(footer).to_contain_text("Tổng công ty Bưu điện Việt Nam")
    assert page.locator("#help-phone").get_attribute("href") == "tel:1900545481"
    assert page.locator("#privacy-link").get_attribute("href") == "/privacy?lang=vi"
    assert _fits(page)
    _shot(page, "account", size)

    page.click("[data-withdraw]")
    expect(page.locator("h1")).to_have_text(t("vi", "withdraw.title"))
    assert _fits(page)
    _shot(page, "withdraw-confirm", size)
    page.click("#keep")
    expect(page.locator("#connected > li")).to_have_count(1)
    page.click("[data-withdraw]")
    page.click("#confirm-withdraw")

    expect(page.locator("[role=status]")).to_have_text(t("vi", "connected.withdrawn"))
    expect(page.locator("#connected")).to_have_count(0)
    assert _foreign(page, running_provider.issuer, allowed=(running_provider.redirect_uri,)) == []


def test_recovery_codes_print_without_the_pages_furniture(running_provider, browser_page, size):
    page = browser_page
    page.goto(f"{running_provider.issuer}/account")
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", running_provider.password)
    page.click("button[type=submit]")
    page.click("#enrol-totp")
    secret = page.locator("#totp-secret").inner_text()
    assert _fits(page)
    _shot(page, "totp-enrol", size)
    page.fill("#code", totp_code(secret, int(time.time())))
    page.click("button[type=submit]")
    page.wait_for_selector("#recovery-codes")
    assert _fits(page)
    _shot(page, "recovery-codes", size)

    page.emulate_media(media="print")

    for furniture in (".bar", "#footer", ".links", "p.screen-only"):
        expect(page.locator(furniture).first).to_be_hidden()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    expect(page.locator("#recovery-codes")).to_be_visible()
    expect(page.locator(".print-only")).to_contain_text(t("vi", "app.name"))
    _shot(page, "recovery-codes-print", size)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_without_a_login_fits_names_its_operator_and_fetches_only_from_us(
    running_provider, browser_page, size, lang
):
    page = browser_page
    _, _, login_url, _, _ = _portal_login_url(running_provider)
    page.goto(login_url)
    pages = [
        f"{page.url.split('?')[0]}?lang={lang}",
        f"{running_provider.issuer}/register?lang={lang}",
        f"{running_provider.issuer}/reset?lang={lang}",
        f"{running_provider.issuer}/privacy?lang={lang}",
        f"{running_provider.issuer}/register/no-such-flow?lang={lang}",
    ]
    for url in pages:
        response = page.goto(url)
        assert response is not None
        expect(page.locator("#footer")).to_contain_text(t(lang, "footer.privacy"))
        expect(page.locator("#help-phone")).to_have_text("1900 54 54 81")
        assert _fits(page), url
        _shot(page, url.split("/")[3].split("?")[0] + f"-{lang}", size)

    favicon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert favicon == f"{running_provider.issuer}/static/favicon.svg"
    assert httpx.get(favicon).headers["content-type"].startswith("image/svg+xml")
    assert _foreign(page, running_provider.issuer) == []
