"""Staff passkeys in Chromium: its virtual authenticator (DevTools protocol) against a provider
served with the issuer http://localhost:PORT (browsers refuse WebAuthn on an IP-address origin).

A member enrols a passkey on "my passkeys", logs out and logs in with password + passkey; with
IDP_STAFF_REQUIRE_PASSKEY on, the TOTP code no longer opens the console. The negatives ask the
same authenticator for assertions on challenges the test makes through the core, on the served
database: another login's challenge, a replay, another member's login, a counter that went back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from idp.bootstrap import open_provider
from idp.core import staff, staff_passkeys
from idp.crypto.totp import totp_code
from idp.settings import Settings
from tests.e2e.conftest import IDP, REDIRECT_URI
from tests.e2e.test_passkeys_browser import GET_ASSERTION, _authenticator
from tests.helpers import free_port, seed_served, serving

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "a long enough staff password"


@pytest.fixture
def serve(tmp_path: Path, keys_dir: Path, database_url: str):
    """`serve(require_passkey)` → (issuer, provider) for a provider served on localhost."""
    stack = contextlib.ExitStack()

    def start(require_passkey: bool = False):
        port = free_port()
        issuer = f"http://localhost:{port}"
        shutil.copytree(keys_dir, tmp_path / "keys")
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        env.update(
            IDP_ISSUER=issuer,
            IDP_DATA_DIR=str(tmp_path / "data"),
            IDP_KEYS_DIR=str(tmp_path / "keys"),
            IDP_DATABASE_URL=database_url,
            IDP_PASSWORD_PROFILE="tests",
            IDP_METRICS_ADDRESS="",
            IDP_STAFF_REQUIRE_PASSKEY="true" if require_passkey else "false",
        )
        settings = Settings.from_env(env)
        seed_served(settings, PASSWORD, REDIRECT_URI)
        stack.enter_context(
            serving(
                [*IDP, "serve", "--port", str(port)],
                env,
                f"http://127.0.0.1:{port}/.well-known/openid-configuration",
            )
        )
        provider = open_provider(settings)
        stack.callback(provider.store.close)
        return issuer, provider

    with stack:
        yield start


def _add(provider, username: str, *roles: str) -> str:
    return staff.add_staff(provider, username=username, roles=list(roles), password=PASSWORD).totp_secret


def _password(page, issuer: str, username: str, code: str = "") -> None:
    page.goto(f"{issuer}/admin/login?lang=en")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.click("#login")


def _enrol_from_the_console(page, issuer: str, provider, username: str, secret: str) -> None:
    _password(page, issuer, username, totp_code(secret, provider.clock.now()))
    page.wait_for_selector("#roles")
    page.click("#nav-security")
    page.fill("#passkey-name", "Khóa USB của tôi")
    page.click("#create-passkey")
    page.wait_for_selector("#passkeys")


def _events(provider, action: str) -> list[dict]:
    with provider.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT outcome, detail FROM audit_event WHERE action = :a ORDER BY seq"), {"a": action}
        ).all()
    return [{"outcome": r.outcome, **json.loads(r.detail)} for r in rows]


def test_a_staff_member_enrols_a_passkey_logs_out_and_logs_in_with_password_and_passkey(serve, chromium):
    issuer, provider = serve()
    secret = _add(provider, "root.admin", "admin")
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)

    _enrol_from_the_console(page, issuer, provider, "root.admin", secret)
    listed = page.locator("#passkeys").inner_text()
    page.click("#logout")
    _password(page, issuer, "root.admin")
    page.wait_for_selector("#use-passkey")
    page.click("#use-passkey")
    page.wait_for_selector("#roles")

    assert "Khóa USB của tôi" in listed
    assert page.url == f"{issuer}/admin/"
    logins = [e for e in _events(provider, "staff.login") if e["outcome"] == "success"]
    assert logins[0]["amr"] == ["pwd", "otp"]
    assert logins[-1]["amr"] == ["pwd", "hwk", "user", "mfa"]
    assert [e["outcome"] for e in _events(provider, "staff.passkey.added")] == ["success"]
    assert [e["outcome"] for e in _events(provider, "staff.passkey.used")] == ["success"]
    context.close()


def test_with_passkeys_required_totp_opens_only_the_first_passkey_page_and_then_is_refused(serve, chromium):
    issuer, provider = serve(require_passkey=True)
    secret = _add(provider, "new.clerk", "clerk")
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)

    _password(page, issuer, "new.clerk", totp_code(secret, provider.clock.now()))
    page.wait_for_selector("#first-passkey-intro")
    home_before = page.request.get(f"{issuer}/admin/", max_redirects=0).status
    page.fill("#passkey-name", "Điện thoại")
    page.click("#create-passkey")
    page.wait_for_selector("#notice")
    with provider.store.engine.begin() as conn:  # the code's step again, as if 30 s had passed
        conn.execute(text("UPDATE staff_user SET totp_last_step = NULL"))
    _password(page, issuer, "new.clerk", totp_code(secret, provider.clock.now()))
    refused = page.locator("#error").inner_text()
    _password(page, issuer, "new.clerk")
    page.click("#use-passkey")
    page.wait_for_selector("#roles")

    assert home_before == 303  # the code made no console session
    assert "passkey" in refused.lower()
    assert page.url == f"{issuer}/admin/"
    with provider.store.engine.connect() as conn:
        sessions = conn.execute(text("SELECT count(*) FROM staff_session")).scalar_one()
    assert sessions == 1  # only the passkey login opened one
    context.close()


def test_a_challenge_is_single_use_and_bound_to_its_login_and_its_member(serve, chromium):
    issuer, provider = serve()
    secret = _add(provider, "root.admin", "admin")
    _add(provider, "other.clerk", "clerk")
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol_from_the_console(page, issuer, provider, "root.admin", secret)
    admin = provider.store.staff.find_for_login("root.admin")[0]
    other = provider.store.staff.find_for_login("other.clerk")[0]

    def parked(member):
        token = staff_passkeys.park(provider, member, "login", f"staff-fail:{member.username}")
        return token, staff_passkeys.pending(provider, token)

    def assertion(pending):
        return page.evaluate(GET_ASSERTION, staff_passkeys.begin_login(provider, pending))

    token_a, pending_a = parked(admin)
    signed = assertion(pending_a)
    token_b, _ = parked(admin)
    with pytest.raises(staff.StaffLoginFailed):
        staff.finish_passkey_login(provider, token_b, signed)  # another login's challenge
    done = staff.finish_passkey_login(provider, token_a, signed)
    with pytest.raises(staff.StaffLoginFailed):
        staff.finish_passkey_login(provider, token_a, signed)  # replayed: the step is spent
    token_c, _ = parked(admin)
    with pytest.raises(staff.StaffLoginFailed):
        staff.finish_passkey_login(provider, token_c, signed)  # replayed on a new login
    token_d, pending_d = parked(other)
    with pytest.raises(staff.StaffLoginFailed):
        staff.finish_passkey_login(provider, token_d, assertion(pending_d))  # the admin's key, the clerk's login

    assert done.staff.username == "root.admin"
    reasons = [e.get("reason") for e in _events(provider, "staff.login") if e["outcome"] == "failure"]
    assert reasons == ["passkey:challenge", "passkey:challenge", "passkey:another_member"]
    context.close()


def test_a_sign_count_that_went_backwards_is_refused_and_audited_as_a_possible_clone(serve, chromium):
    issuer, provider = serve()
    secret = _add(provider, "root.admin", "admin")
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol_from_the_console(page, issuer, provider, "root.admin", secret)
    admin = provider.store.staff.find_for_login("root.admin")[0]
    key = provider.store.staff.passkeys.of(admin.id)[0]
    provider.store.staff.passkeys.advance(key.credential_id, key.sign_count, 1_000_000, provider.clock.now())
    token = staff_passkeys.park(provider, admin, "login", "staff-fail:root.admin")

    signed = page.evaluate(GET_ASSERTION, staff_passkeys.begin_login(provider, staff_passkeys.pending(provider, token)))
    with pytest.raises(staff.StaffLoginFailed):
        staff.finish_passkey_login(provider, token, signed)

    assert [e["outcome"] for e in _events(provider, "staff.passkey.clone_suspected")] == ["failure"]
    assert provider.store.staff.passkeys.get(key.credential_id).sign_count == 1_000_000
    context.close()
