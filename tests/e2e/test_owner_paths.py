"""Issue 12's documented paths, walked by the owner in Chromium against the real server: the account
security that keeps strangers out must still let the owner in.

- An owner with an authenticator app changes the password after the re-authentication window:
  the change page sends them to re-authenticate (password + app code) first, then the new password
  logs in.
- An owner with an app who forgot the password resets it with the SMS code *and* the app code, and
  logs in with the new password and the app. The same reset with the SMS code alone is refused with
  the page's explanation (the counter desk) and leaves the old password working.

The app's codes come from the secret the enrolment page shows, as the app would compute them. A
code's 30-second step is accepted once, so each use takes a later step than the one before.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from idp.crypto.totp import PERIOD, totp_code
from idp.i18n import t
from idp.settings import Settings
from idp.store.engine import make_engine
from tests.helpers import codes_in_outbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LANG = "vi"  # the provider's default language: the pages are asked for none
PHONE = "+84912345678"  # CITIZEN's phone, as the outbox names it
NEW_PASSWORD = "một mật khẩu mới thật dài cho tài khoản"


class App:
    """The citizen's authenticator app: the code of the earliest step the provider still accepts
    (the current or the previous one) that is later than the last step used, waiting for the next
    step when none is."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.last_step = -1

    def code(self) -> str:
        now = time.time()
        current = int(now) // PERIOD
        step = max(self.last_step + 1, current - 1)
        if step < current and PERIOD - now % PERIOD < 5:
            step = current  # the previous step would roll out of the window before the form arrives
        if step > current:
            time.sleep(step * PERIOD - now + 0.5)
        self.last_step = step
        return totp_code(self.secret, step * PERIOD)


def _see_heading(page: Page, key: str) -> None:
    expect(page.locator("h1")).to_have_text(t(LANG, key))


def _log_in_to_account(
    page: Page, base: str, identifier: str, password: str, app: App | None = None, recovery_code: str | None = None
) -> None:
    """The account page, as the citizen opens it: the login form, the app's code (or one of the
    recovery codes) if asked for, and back to the account."""
    page.goto(f"{base}/account")
    _see_heading(page, "login.title")
    page.fill("#identifier", identifier)
    page.fill("#password", password)
    page.click("button[type=submit]")
    if app is not None:
        _see_heading(page, "mfa.title")
        page.fill("#code", app.code())
        page.click("button[value=verify]")
    elif recovery_code is not None:
        _see_heading(page, "mfa.title")
        page.click("a[data-method=recovery]")
        page.fill("#code", recovery_code)
        page.click("button[value=verify]")
    _see_heading(page, "account.title")
    assert page.url.split("?")[0] == f"{base}/account"


def _enrol_app(page: Page) -> tuple[App, list[str]]:
    """From the account page: enrol an authenticator from the secret the page shows."""
    page.click("#enrol-totp")
    _see_heading(page, "totp.title")
    app = App(page.locator("#totp-secret").inner_text())
    page.fill("#code", app.code())
    page.click("button[type=submit]")
    _see_heading(page, "recovery.title")
    recovery_codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(recovery_codes) == 10
    return app, recovery_codes


def _log_out(page: Page, base: str) -> None:
    page.goto(f"{base}/logout")
    page.click("button[type=submit]")


def _owner_with_an_app(page: Page, provider) -> tuple[App, list[str]]:
    """The seeded citizen logs in, enrols an app (keeping the recovery codes) and logs out."""
    _log_in_to_account(page, provider.issuer, provider.id_number, provider.password)
    app, recovery_codes = _enrol_app(page)
    page.goto(f"{provider.issuer}/account")
    expect(page.locator("#totp-status")).to_have_text(t(LANG, "account.totp_on"))
    _log_out(page, provider.issuer)
    return app, recovery_codes


def _age_sessions(provider, seconds: int) -> None:
    """Move every browser session's login back in time, in the served provider's own database: the
    same as waiting, without the wait (the window's minimum is a minute)."""
    engine = make_engine(Settings.from_env(provider.env).effective_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE browser_session SET auth_time = auth_time - :s, reauthenticated_at = NULL"),
                {"s": seconds},
            )
    finally:
        engine.dispose()


def _reset_page_with_code(page: Page, provider) -> str:
    """From the login form's "forgot" link to the code page; returns the SMS code the phone got."""
    page.goto(f"{provider.issuer}/account")
    page.click("#reset-link")
    _see_heading(page, "reset.title")
    page.fill("#identifier", provider.id_number)
    page.click("button[type=submit]")
    expect(page.locator("#reset-counter")).to_have_text(t(LANG, "reset.counter"))
    return codes_in_outbox(Path(provider.env["IDP_DATA_DIR"]), PHONE, "reset")[-1]


def test_after_the_window_a_password_change_reauthenticates_with_the_app_then_the_new_password_logs_in(
    running_provider, chromium
):
    base = running_provider.issuer
    context = chromium.new_context()
    page = context.new_page()
    _log_in_to_account(page, base, running_provider.id_number, running_provider.password)
    app, recovery_codes = _enrol_app(page)

    _age_sessions(running_provider, seconds=3600)  # the login is now an hour old: past any window
    page.goto(f"{base}/account")
    page.click("#change-password")
    _see_heading(page, "reauth.title")
    assert page.url.startswith(f"{base}/account/reauth?")
    page.fill("#password", running_provider.password)
    page.fill("#code", app.code())
    page.click("button[type=submit]")
    _see_heading(page, "account.change_password")
    page.fill("#current-password", running_provider.password)
    page.fill("#new-password", NEW_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("[role=status]")).to_have_text(t(LANG, "password.changed"))

    _log_out(page, base)
    page.goto(f"{base}/account")
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", running_provider.password)
    page.click("button[type=submit]")
    expect(page.locator("#error-summary a[href='#password']")).to_have_text(t(LANG, "login.failed"))
    # A recovery code for the second factor: the app's two steps in the window are spent already.
    _log_in_to_account(page, base, running_provider.id_number, NEW_PASSWORD, recovery_code=recovery_codes[0])
    context.close()


def test_an_owner_with_an_app_resets_with_the_sms_and_app_codes_and_logs_in_with_the_new_password(
    running_provider, chromium
):
    context = chromium.new_context()
    page = context.new_page()
    app, recovery_codes = _owner_with_an_app(page, running_provider)

    sms_code = _reset_page_with_code(page, running_provider)
    page.fill("#code", sms_code)
    page.fill("#factor_code", app.code())
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")
    # Started from the portal's login page: the page leads back to it.
    expect(page.locator("[role=status]")).to_have_text(t(LANG, "reset.done_onward"))

    # A recovery code for the second factor: the app's two steps in the window are spent already.
    _log_in_to_account(
        page, running_provider.issuer, running_provider.id_number, NEW_PASSWORD, recovery_code=recovery_codes[0]
    )
    context.close()


def test_a_reset_with_the_sms_code_alone_is_refused_with_the_counter_and_the_old_password_still_works(
    running_provider, chromium
):
    context = chromium.new_context()
    page = context.new_page()
    app, _ = _owner_with_an_app(page, running_provider)

    sms_code = _reset_page_with_code(page, running_provider)
    page.fill("#code", sms_code)
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")

    # The SMS code is spent with the refusal (each guess at the app costs a fresh SMS), so the flow
    # ends here: the page says why, and that the counter desk is the way without the app.
    _see_heading(page, "error.title")
    expect(page.locator(".error")).to_have_text(t(LANG, "reset.factor_refused"))
    _log_in_to_account(page, running_provider.issuer, running_provider.id_number, running_provider.password, app)
    context.close()
