"""Recent authentication with a passkey instead of the password (and the app's code): one of the
citizen's own passkeys, user verified, answering a challenge issued to this browser session."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from idp.core import passkeys
from tests.factors.authenticator import SoftAuthenticator, enrol_on_account, page_options
from tests.helpers import CITIZEN, ISSUER, add_citizen, csrf_of, form_action, path_of
from tests.security.conftest import account_login, audit_rows, browser_at

STALE = 11 * 60


def _device(**kwargs):
    return SoftAuthenticator(origin=ISSUER, rp_id=urlsplit(ISSUER).hostname, **kwargs)


def _reauth_page(client):
    return client.get("/account/reauth", params={"next": "/account"})


def _post_assertion(client, page, credential):
    return client.post(
        form_action(page.text, "/account/reauth/passkey"),
        data={"csrf_token": csrf_of(page.text), "next": "/account", "credential": credential},
    )


def _stale_citizen_with_passkey(client, clock, provider, device):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    enrol_on_account(client, device, "Phone")
    clock.advance(STALE)
    return citizen


def _adds_a_passkey(client) -> bool:
    account = client.get("/account")
    begin = client.post(
        form_action(account.text, "/account/passkeys/new"), data={"csrf_token": csrf_of(account.text), "name": "X"}
    )
    return begin.status_code == 200


def test_a_stale_session_reauthenticates_with_its_own_passkey_and_then_may_change_the_account(client, clock, provider):
    device = _device()
    citizen = _stale_citizen_with_passkey(client, clock, provider, device)
    before = _adds_a_passkey(client)

    page = _reauth_page(client)
    back = _post_assertion(client, page, device.assert_(page_options(page.text)))

    assert not before
    assert 'id="passkey-reauth"' in page.text
    assert page_options(page.text)["userVerification"] == "required"
    assert back.status_code == 303 and path_of(back.headers["location"]).startswith("/account?")
    assert _adds_a_passkey(client)
    done = [r for r in audit_rows(provider, citizen) if r.action == "citizen.reauth" and r.outcome == "success"]
    assert len(done) == 1 and "passkey" in done[0].detail


def test_an_assertion_without_user_verification_does_not_reauthenticate(client, clock, provider):
    device = _device()
    _stale_citizen_with_passkey(client, clock, provider, device)

    page = _reauth_page(client)
    refused = _post_assertion(client, page, device.assert_(page_options(page.text), user_verified=False))

    assert refused.status_code == 401 and not _adds_a_passkey(client)


def test_a_challenge_issued_to_another_session_does_not_reauthenticate_this_one(client, clock, provider):
    device = _device()
    citizen, password = add_citizen(provider)
    other = browser_at(client, "127.0.0.2")
    account_login(other, citizen, password)  # the same citizen's other browser
    account_login(client, citizen, password)
    enrol_on_account(client, device, "Phone")
    clock.advance(STALE)

    elsewhere = _reauth_page(other)
    page = _reauth_page(client)
    refused = _post_assertion(client, page, device.assert_(page_options(elsewhere.text)))

    assert refused.status_code == 401 and not _adds_a_passkey(client)


def test_another_citizens_passkey_does_not_reauthenticate_this_citizen(client, clock, provider):
    device = _device()
    _stale_citizen_with_passkey(client, clock, provider, device)
    other = browser_at(client, "127.0.0.2")
    stranger, password = add_citizen(
        provider, declaration=replace(CITIZEN, id_number="001090000999", phone="0912345999")
    )
    account_login(other, stranger, password)
    theirs = _device()
    enrol_on_account(other, theirs, "Theirs")

    page = _reauth_page(client)
    refused = _post_assertion(client, page, theirs.assert_(page_options(page.text)))

    assert refused.status_code == 401 and not _adds_a_passkey(client)


def test_a_replayed_reauthentication_assertion_is_refused(client, clock, provider):
    device = _device()
    _stale_citizen_with_passkey(client, clock, provider, device)
    page = _reauth_page(client)
    signed = device.assert_(page_options(page.text))
    first = _post_assertion(client, page, signed)
    clock.advance(STALE)

    replayed = _post_assertion(client, page, signed)

    assert first.status_code == 303 and replayed.status_code == 401


def test_the_reauthentication_page_offers_no_passkey_to_an_account_without_one(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)

    page = _reauth_page(client)

    assert 'id="passkey-reauth"' not in page.text and not passkeys.has_passkey(provider, citizen.id)
