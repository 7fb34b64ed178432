"""Passkeys in Chromium: its virtual authenticator (DevTools protocol) against a provider served
with the issuer http://localhost:PORT (browsers refuse WebAuthn on an IP-address origin).

The negatives ask the same authenticator for assertions on challenges the test makes through the
core, on the served database: a challenge from another interaction, a replay, a credential of
another citizen, a counter that went backwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import text

from idp.bootstrap import open_provider
from idp.core import passkeys
from idp.core.accounts import add_active_citizen
from idp.i18n import t
from idp.settings import Settings
from tests.e2e.conftest import IDP, REDIRECT_URI
from tests.helpers import CITIZEN, codes_in_outbox, free_port, seed_served, serving

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "a long enough test password"

# What the page's script does, for assertions the test asks for directly (DevTools' evaluate is
# not bound by the page's CSP).
GET_ASSERTION = """async (options) => {
  const bytes = (t) => Uint8Array.from(
    atob(t.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - t.length % 4) % 4)), c => c.charCodeAt(0)).buffer;
  const b64 = (b) => b ? btoa(String.fromCharCode(...new Uint8Array(b)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') : null;
  options.challenge = bytes(options.challenge);
  options.allowCredentials = (options.allowCredentials || []).map(c => ({...c, id: bytes(c.id)}));
  const c = await navigator.credentials.get({publicKey: options});
  return JSON.stringify({id: c.id, rawId: b64(c.rawId), type: c.type, clientExtensionResults: {},
    response: {clientDataJSON: b64(c.response.clientDataJSON), authenticatorData: b64(c.response.authenticatorData),
               signature: b64(c.response.signature), userHandle: b64(c.response.userHandle)}});
}"""


@pytest.fixture
def localhost_provider(tmp_path: Path, keys_dir: Path, database_url: str):
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
    )
    settings = Settings.from_env(env)
    client_id, secret = seed_served(settings, PASSWORD, REDIRECT_URI)
    with serving(
        [*IDP, "serve", "--port", str(port)], env, f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    ):
        provider = open_provider(settings)
        try:
            yield issuer, client_id, secret, provider
        finally:
            provider.store.close()


def _authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, found["authenticatorId"]


def _authorization(issuer, client_id, secret, **extra):
    meta = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    rp = OAuth2Client(client_id, secret, scope="openid", redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=secrets.token_urlsafe(8), **extra
    )
    return rp, meta, url, state, verifier


def _id_token_claims(rp, meta, callback, state, verifier):
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    return jwt.decode(token["id_token"], options={"verify_signature": False})


def _enrol(page, issuer, id_number=CITIZEN.id_number):
    page.goto(f"{issuer}/account?lang=vi")
    page.fill("#identifier", id_number)
    page.fill("#password", PASSWORD)
    page.click("form[action*='/login'] button[type=submit]")
    page.wait_for_selector("#add-passkey")
    page.fill("#passkey-name", "Điện thoại của Bình")
    page.click("#add-passkey")
    page.click("#create-passkey")
    page.wait_for_selector("#passkeys, #recovery-codes")
    if page.locator("#recovery-codes").count():  # a first strong factor: its recovery codes, shown once
        page.goto(f"{issuer}/account?lang=vi")
    page.wait_for_selector("#passkeys")


def test_a_citizen_enrols_a_passkey_logs_in_to_a_portal_at_loa2_without_a_password_and_removes_it(
    localhost_provider, chromium
):
    issuer, client_id, secret, provider = localhost_provider
    citizen = provider.store.citizens.find_for_login(CITIZEN.id_number, None)[0]
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET level = 'LoA2' WHERE id = :id"), {"id": citizen.id})
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)

    _enrol(page, issuer)
    listed = page.locator("#passkeys").inner_text()
    context.clear_cookies()
    rp, meta, url, state, verifier = _authorization(issuer, client_id, secret, acr_values="LoA2")
    page.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="portal"))
    page.goto(url)
    page.click("#passkey")
    page.click("button[value=allow]")
    page.wait_for_url(REDIRECT_URI + "*")
    callback = page.url
    claims = _id_token_claims(rp, meta, callback, state, verifier)
    page.goto(f"{issuer}/account?lang=vi")  # the passkey's own session, fresh: removal needs no detour
    page.click("#passkeys form[action*='/remove'] button[type=submit]")
    fallback = page.locator("#last-factor-fallback").inner_text()  # the last strong factor: asked first
    page.click("#confirm-remove")
    page.wait_for_selector("#passkeys-none")

    assert "Điện thoại của Bình" in listed
    assert "mã SMS" in fallback
    assert claims["acr"] == "LoA2" and set(claims["amr"]) == {"hwk", "user", "mfa"}
    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    with provider.store.engine.connect() as conn:
        actions = set(conn.execute(text("SELECT action FROM audit_event WHERE outcome = 'success'")).scalars())
    assert {"citizen.passkey.enrol", "citizen.login.passkey", "citizen.passkey.remove"} <= actions
    context.close()


def test_a_passkey_is_the_second_factor_after_the_password(localhost_provider, chromium):
    issuer, client_id, secret, _ = localhost_provider
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)
    context.clear_cookies()
    rp, meta, url, state, verifier = _authorization(issuer, client_id, secret)
    page.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="portal"))

    page.goto(url)
    page.fill("#identifier", CITIZEN.id_number)
    page.fill("#password", PASSWORD)
    page.click("form[action*='/login'] button[type=submit]")
    page.click("#passkey")
    page.click("button[value=allow]")
    page.wait_for_url(REDIRECT_URI + "*")
    claims = _id_token_claims(rp, meta, page.url, state, verifier)

    assert set(claims["amr"]) == {"pwd", "hwk", "user", "mfa"}
    assert claims["acr"] == "LoA1"  # two factors, but the identity is not verified in person
    context.close()


def test_challenges_are_single_use_bound_to_their_interaction_and_to_the_credentials_owner(
    localhost_provider, chromium
):
    issuer, _, _, provider = localhost_provider
    other = add_active_citizen(
        provider, replace(CITIZEN, id_number="001090000999", phone="0912 345 999", email=None), PASSWORD
    )
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)

    def assertion(interaction_id, citizen_id=None):
        return page.evaluate(GET_ASSERTION, passkeys.begin_login(provider, interaction_id, citizen_id))

    signed = assertion("interaction-a")
    with pytest.raises(passkeys.PasskeyRefused):
        passkeys.finish_login(provider, "interaction-b", None, signed)  # another interaction's challenge
    used = passkeys.finish_login(provider, "interaction-a", None, signed)
    with pytest.raises(passkeys.PasskeyRefused):
        passkeys.finish_login(provider, "interaction-a", None, signed)  # replayed
    with pytest.raises(passkeys.PasskeyRefused):
        passkeys.finish_login(provider, "interaction-c", other.id, assertion("interaction-c", other.id))

    assert used.citizen.id_number == CITIZEN.id_number
    context.close()


def test_a_sign_count_that_went_backwards_is_refused_and_audited_as_a_possible_clone(localhost_provider, chromium):
    issuer, _, _, provider = localhost_provider
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)
    citizen = provider.store.citizens.find_for_login(CITIZEN.id_number, None)[0]
    key = provider.store.passkeys.of(citizen.id)[0]
    provider.store.passkeys.advance(key.credential_id, key.sign_count, 1_000_000, provider.clock.now())

    signed = page.evaluate(GET_ASSERTION, passkeys.begin_login(provider, "interaction-a", None))
    with pytest.raises(passkeys.PasskeyRefused):
        passkeys.finish_login(provider, "interaction-a", None, signed)

    with provider.store.engine.connect() as conn:
        clones = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE action = 'citizen.passkey.clone_suspected'")
        ).scalar_one()
    assert clones == 1
    assert provider.store.passkeys.get(key.credential_id).sign_count == 1_000_000
    context.close()


def test_a_portal_asking_for_loa2_steps_an_loa1_session_up_with_the_passkey_offered_first(localhost_provider, chromium):
    issuer, client_id, secret, provider = localhost_provider
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)  # logged in with the password alone: an LoA1 session
    citizen = provider.store.citizens.find_for_login(CITIZEN.id_number, None)[0]
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET level = 'LoA2' WHERE id = :id"), {"id": citizen.id})
    rp, meta, url, state, verifier = _authorization(issuer, client_id, secret, acr_values="LoA2")
    page.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="portal"))

    page.goto(url)
    first_button = page.locator("main form button, form button").first.get_attribute("id")
    page.click("#passkey")
    page.click("button[value=allow]")
    page.wait_for_url(REDIRECT_URI + "*")
    claims = _id_token_claims(rp, meta, page.url, state, verifier)

    assert first_button == "passkey"
    assert claims["acr"] == "LoA2" and {"hwk", "user", "mfa"} <= set(claims["amr"])
    context.close()


def test_a_passkey_only_account_without_recovery_codes_resets_its_password_with_the_sms_code_and_the_passkey(
    localhost_provider, chromium
):
    issuer, _, _, provider = localhost_provider
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)
    citizen = provider.store.citizens.find_for_login(CITIZEN.id_number, None)[0]
    with provider.store.engine.begin() as conn:  # the codes shown at enrolment, lost
        conn.execute(text("DELETE FROM recovery_code WHERE citizen_id = :id"), {"id": citizen.id})
    context.clear_cookies()

    page.goto(f"{issuer}/reset?lang=vi")
    page.fill("#identifier", CITIZEN.id_number)
    page.click("form[action*='/reset'] button[type=submit]")
    page.wait_for_selector("#reset-form")
    page.fill("#code", codes_in_outbox(provider.settings.data_dir, citizen.phone, "reset")[-1])
    page.fill("#password", "a brand new long passphrase")
    page.click("#passkey")
    page.wait_for_selector("#reset-form", state="detached")  # the page that says it is done
    done = page.locator("main").inner_text()

    with provider.store.engine.connect() as conn:
        resets = conn.execute(
            text("SELECT outcome FROM audit_event WHERE action = 'citizen.password_reset' AND subject = :s"),
            {"s": f"citizen:{citizen.id}"},
        ).scalars()
        assert list(resets) == ["success"]
    assert t("vi", "reset.done") in done
    context.close()
