"""A password reset on an account protected by a passkey: the SMS code and one of that citizen's
passkeys (user verified, answering this reset's own challenge) are enough, so a passkey-only
account without recovery codes is no longer a dead end. Every reset page offers the ceremony,
account or none, and lists no credential."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy import text

from tests.factors.authenticator import SoftAuthenticator, enrol_on_account, page_options
from tests.helpers import CITIZEN, ISSUER, add_citizen, csrf_of, form_action, sent_codes
from tests.security.conftest import NEW_PASSWORD, account_login, audit_rows, browser_at, start_reset


def _device(**kwargs):
    return SoftAuthenticator(origin=ISSUER, rp_id=urlsplit(ISSUER).hostname, **kwargs)


def _passkey_only_citizen(client, provider, device, declaration=CITIZEN):
    """A citizen whose one strong factor is a passkey, and who holds no recovery code."""
    citizen, password = add_citizen(provider, declaration=declaration)
    account_login(client, citizen, password)
    enrol_on_account(client, device, "Phone")
    with provider.store.engine.begin() as conn:  # codes lost, or from before codes came with a passkey
        conn.execute(text("DELETE FROM recovery_code WHERE citizen_id = :id"), {"id": citizen.id})
    client.cookies.clear()
    return citizen, password


def _finish(client, provider, citizen, page, **extra):
    code = sent_codes(provider, citizen.phone, "reset")[-1]
    return client.post(
        form_action(page.text, "/reset/"),
        data={"csrf_token": csrf_of(page.text), "code": code, "password": NEW_PASSWORD, **extra},
    )


def _reset_done(provider, citizen) -> bool:
    return ("citizen.password_reset", "success") in [(r.action, r.outcome) for r in audit_rows(provider, citizen)]


def test_a_passkey_only_account_without_recovery_codes_resets_with_the_sms_code_and_its_passkey(client, provider):
    device = _device()
    citizen, _ = _passkey_only_citizen(client, provider, device)

    page = start_reset(client, citizen.id_number)
    done = _finish(client, provider, citizen, page, credential=device.assert_(page_options(page.text)))

    assert provider.store.recovery_codes.remaining(citizen.id) == 0
    assert done.status_code == 200 and _reset_done(provider, citizen)


def test_the_sms_code_alone_still_does_not_reset_an_account_with_a_passkey(client, provider):
    device = _device()
    citizen, _ = _passkey_only_citizen(client, provider, device)

    page = start_reset(client, citizen.id_number)
    refused = _finish(client, provider, citizen, page)

    assert refused.status_code == 401 and not _reset_done(provider, citizen)


def test_a_reset_passkey_assertion_without_user_verification_is_refused(client, provider):
    device = _device()
    citizen, _ = _passkey_only_citizen(client, provider, device)

    page = start_reset(client, citizen.id_number)
    refused = _finish(
        client, provider, citizen, page, credential=device.assert_(page_options(page.text), user_verified=False)
    )

    assert refused.status_code == 401 and not _reset_done(provider, citizen)


def test_another_citizens_passkey_does_not_reset_this_account(client, provider):
    device, theirs = _device(), _device()
    citizen, _ = _passkey_only_citizen(client, provider, device)
    stranger = replace(CITIZEN, id_number="001090000999", phone="0912345999")
    _passkey_only_citizen(browser_at(client, "127.0.0.2"), provider, theirs, stranger)

    page = start_reset(client, citizen.id_number)
    refused = _finish(client, provider, citizen, page, credential=theirs.assert_(page_options(page.text)))

    assert refused.status_code == 401 and not _reset_done(provider, citizen)


def test_a_challenge_from_another_reset_flow_does_not_reset_this_one(client, clock, provider):
    device = _device()
    citizen, _ = _passkey_only_citizen(client, provider, device)
    other = browser_at(client, "127.0.0.2")
    elsewhere = start_reset(other, citizen.id_number)
    clock.advance(61)  # the SMS resend cooldown

    page = start_reset(client, citizen.id_number)
    refused = _finish(client, provider, citizen, page, credential=device.assert_(page_options(elsewhere.text)))

    assert refused.status_code == 401 and not _reset_done(provider, citizen)


def test_every_reset_page_offers_the_ceremony_without_naming_credentials_account_or_none(client, provider):
    device = _device()
    citizen, _ = _passkey_only_citizen(client, provider, device)

    with_passkey = start_reset(client, citizen.id_number)
    nobody = start_reset(browser_at(client, "127.0.0.3"), "079090000999")

    for page in (with_passkey, nobody):
        assert 'data-passkey="get"' in page.text and page_options(page.text)["allowCredentials"] == []
        assert "script-src 'self'" in page.headers["content-security-policy"]
