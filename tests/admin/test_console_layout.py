"""The staff console in Chromium on a phone (390×844) and a desktop (1280×800), in both languages:
no page scrolls sideways, Vietnamese is the default and the English switch sticks, every desk
header says what it heads, and a reload after registering a portal shows the secret no more and
registers no second portal. Screenshots of every page go to IDP_SCREENSHOTS (or the test's
temporary folder) for a reviewer."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from idp.crypto.totp import totp_code
from tests.admin.test_browser import STAFF_PASSWORD, _add_staff, _type_what_the_card_says

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
FITS = "[document.documentElement.scrollWidth, window.innerWidth]"
# An axe-like rule (empty-table-header): every header cell has text a screen reader can say.
EMPTY_HEADERS = "[...document.querySelectorAll('th')].filter(th => !th.innerText.trim()).length"


def _log_in(chromium, base: str, username: str, secret: str):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/admin/login")
    page.fill("#username", username)
    page.fill("#password", STAFF_PASSWORD)
    page.fill("#code", totp_code(secret, int(time.time())))
    page.click("#login")
    page.wait_for_selector("#who")
    return context, page


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("IDP_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _walk(page, base: str, paths: dict[str, str], shots: Path, role: str, switch: str = "/admin/") -> list[str]:
    """Every page at both sizes in both languages (chosen once on `switch`, as a clerk would);
    what overflowed, as readable lines."""
    overflowing = []
    for lang in ("vi", "en"):
        page.goto(f"{base}{switch}?lang={lang}")
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            for name, path in paths.items():
                page.goto(base + path)
                assert page.locator("html").get_attribute("lang") == lang, (name, lang)
                scrolled, shown = page.evaluate(FITS)
                if scrolled > shown:
                    overflowing.append(f"{role} {name} {lang} {size}: {scrolled} px in {shown} px")
                page.screenshot(path=str(shots / f"{role}-{name}-{lang}-{size}.png"), full_page=True)
    return overflowing


def test_every_console_page_fits_a_phone_and_a_desktop_in_both_languages(running_provider, chromium, tmp_path):
    rp = running_provider
    shots = _shots(tmp_path)
    admin = _add_staff(rp.env, "root.admin", "admin")
    clerk = _add_staff(rp.env, "counter.clerk", "clerk")
    supervisor = _add_staff(rp.env, "desk.supervisor", "supervisor")
    overflowing: list[str] = []

    # The supervisor's empty desk first: its one row says so, under headers that all have text.
    sup_context, sup_page = _log_in(chromium, rp.issuer, "desk.supervisor", supervisor)
    sup_page.goto(f"{rp.issuer}/admin/desk")
    assert sup_page.evaluate(EMPTY_HEADERS) == 0
    assert sup_page.locator("#pending tr.empty").count() == 1

    # The clerk records a check (so the desk has a row) and walks the clerk's pages.
    context, page = _log_in(chromium, rp.issuer, "counter.clerk", clerk)
    page.goto(f"{rp.issuer}/admin/citizens?q={rp.id_number}")
    page.click("#results a")
    citizen_path = page.url.removeprefix(rp.issuer)
    page.fill("#document_number", rp.id_number)
    _type_what_the_card_says(page, birth_date="1990-05-02")  # a difference: the desk shows the comparison
    page.check("#data_matches")
    page.click("#record")
    page.wait_for_selector("#notice")
    assert "chờ một người giám sát khác duyệt" in page.locator("#notice").inner_text()
    overflowing += _walk(
        page,
        rp.issuer,
        {"desk": "/admin/desk", "counter": "/admin/counter", "citizen": citizen_path},
        shots,
        "clerk",
    )
    context.close()

    sup_page.reload()
    assert sup_page.evaluate(EMPTY_HEADERS) == 0 and sup_page.locator("button.approve").count() == 1
    overflowing += _walk(sup_page, rp.issuer, {"desk": "/admin/desk"}, shots, "supervisor")
    sup_context.close()

    context, page = _log_in(chromium, rp.issuer, "root.admin", admin)
    page.goto(f"{rp.issuer}/admin/audit?verify=1")  # a few more audit rows, and the verdict line
    overflowing += _walk(
        page,
        rp.issuer,
        {
            "home": "/admin/",
            "citizens": f"/admin/citizens?q={rp.id_number}",
            "citizen": citizen_path,
            "clients": "/admin/clients",
            "client": f"/admin/clients/{rp.client_id}",
            "keys": "/admin/keys",
            "audit": "/admin/audit?verify=1",
        },
        shots,
        "admin",
    )
    context.close()

    login = chromium.new_context().new_page()
    overflowing += _walk(login, rp.issuer, {"login": "/admin/login"}, shots, "anyone", "/admin/login")
    login.context.close()

    assert overflowing == [], "\n".join(overflowing)


def test_vietnamese_is_the_default_and_the_english_switch_sticks_across_pages(running_provider, chromium):
    rp = running_provider
    admin = _add_staff(rp.env, "root.admin", "admin")
    context, page = _log_in(chromium, rp.issuer, "root.admin", admin)

    vietnamese = page.locator("h1").inner_text()
    page.click("#lang-switch")
    english = page.locator("h1").inner_text()
    page.click("nav a[href='/admin/keys']")

    assert vietnamese.startswith("Xin chào") and english.startswith("Welcome")
    assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Signing keys"
    page.click("#lang-switch")
    assert page.locator("h1").inner_text() == "Khóa ký"
    context.close()


def test_a_reload_after_registering_a_portal_registers_no_second_one_and_the_secret_is_shown_once(
    running_provider, chromium
):
    rp = running_provider
    admin = _add_staff(rp.env, "root.admin", "admin")
    context, page = _log_in(chromium, rp.issuer, "root.admin", admin)
    page.goto(f"{rp.issuer}/admin/clients")
    before = page.locator("#clients tbody tr").count()

    page.fill("#c-name", "Cổng một cửa tỉnh")
    page.fill("#c-redirect", "https://motcua.example/callback")
    page.click("#register-client")
    page.wait_for_selector("#client-secret")
    secret = page.locator("#client-secret").inner_text()
    page.reload()
    after_reload = page.locator("#client-secret").count(), page.locator("#secret-gone").count()
    page.go_back()  # back to the form page, never a re-post
    page.goto(f"{rp.issuer}/admin/clients")
    after = page.locator("#clients tbody tr").count()

    assert len(secret) >= 40 and after_reload == (0, 1) and secret not in page.content()
    assert after == before + 1
    context.close()
