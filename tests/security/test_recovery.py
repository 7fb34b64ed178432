"""Issue 12, attack 3: with the SIM alone, nobody takes over an account that has an authenticator app.

Recovery is never cheaper than login (GOV.UK One Login's two codes, NIST SP 800-63B-4): on an account
with an app, the reset asks for the SMS code **and** the app's code or a recovery code; SMS alone never
yields a second factor there; and every reset tells every channel the account has.

Assumed for the implementer: the reset code page of such an account has a field `factor_code` (the app's
6-digit code or a recovery code) next to `code` (the SMS code) and `password`; a reset without it is
refused (400 or 401) and changes nothing. A reset queues a `notice` to the phone and to the email.
"""

from __future__ import annotations

import jwt
import pytest

from idp.crypto.totp import totp_code
from tests.helpers import PageRefused, Pkce, add_portal, csrf_of, exchange, form_action, messages_to, sent_codes
from tests.helpers import login_and_consent as walk_login
from tests.security.conftest import NEW_PASSWORD, reset_by_sms, start_reset


def _stored_hash(provider, citizen):
    return provider.store.citizens.find_for_login(citizen.id_number, None)[1]


def test_an_sms_only_reset_of_an_app_account_never_yields_an_id_token(client, clock, provider, app_owner):
    citizen, _, _, _ = app_owner
    portal = add_portal(provider)
    pkce = Pkce()
    reset_by_sms(client, provider, citizen)
    client.cookies.clear()
    clock.advance(61)  # past the resend cooldown: the attacker is patient

    try:
        callback = _login_choosing_sms(client, provider, portal, citizen, pkce)
    except PageRefused:
        return
    claims = jwt.decode(
        exchange(client, portal, callback["code"], pkce).json()["id_token"], options={"verify_signature": False}
    )
    pytest.fail(f"the SIM alone took over an app account: ID token with amr {claims['amr']}")


def _login_choosing_sms(client, provider, portal, citizen, pkce):
    """Log in with the new password and answer the second factor by SMS, as the attacker would."""
    from urllib.parse import urlencode

    from tests.helpers import authorize_params, path_of, query_of

    start = client.get("/authorize?" + urlencode(authorize_params(portal, pkce)))
    page = client.get(path_of(start.headers["location"]))
    second = client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": NEW_PASSWORD},
    )
    if second.status_code != 303:
        raise PageRefused(second)
    sms_page = client.get(path_of(second.headers["location"]) + "?method=sms")
    sent = client.post(
        form_action(sms_page.text, "/second-factor"),
        data={"csrf_token": csrf_of(sms_page.text), "method": "sms", "action": "send"},
    )
    if sent.status_code != 200:
        raise PageRefused(sent)
    done = client.post(
        form_action(sent.text, "/second-factor"),
        data={
            "csrf_token": csrf_of(sent.text),
            "method": "sms",
            "code": sent_codes(provider, citizen.phone, "login")[-1],
        },
    )
    if done.status_code != 303:
        raise PageRefused(done)
    consent = client.get(path_of(done.headers["location"]))
    back = client.post(
        form_action(consent.text, "/consent"), data={"csrf_token": csrf_of(consent.text), "decision": "allow"}
    )
    return query_of(back.headers["location"])


def test_a_reset_of_an_app_account_with_the_sms_code_alone_changes_nothing(client, provider, app_owner):
    citizen, password, _, _ = app_owner

    answer = reset_by_sms(client, provider, citizen)

    assert answer.status_code in (400, 401), (
        f"the SMS code alone reset an app account's password ({answer.status_code})"
    )
    assert provider.passwords.verify(_stored_hash(provider, citizen), password)


def test_the_reset_page_of_an_app_account_asks_for_the_app_code_or_a_recovery_code(client, provider, app_owner):
    citizen, _, _, _ = app_owner

    page = start_reset(client, citizen.id_number)

    assert 'name="factor_code"' in page.text, "the reset page asks only for the SMS code"


def test_a_reset_of_an_app_account_with_the_sms_code_and_the_app_code_sets_the_password(
    client, clock, provider, app_owner
):
    citizen, _, secret, _ = app_owner
    page = start_reset(client, citizen.id_number)
    code = sent_codes(provider, citizen.phone, "reset")[-1]

    answer = client.post(
        form_action(page.text, "/reset/"),
        data={
            "csrf_token": csrf_of(page.text),
            "code": code,
            "factor_code": totp_code(secret, clock.now()),
            "password": NEW_PASSWORD,
        },
    )

    assert 'name="factor_code"' in page.text, "the reset page asks only for the SMS code"
    assert answer.status_code == 200 and provider.passwords.verify(_stored_hash(provider, citizen), NEW_PASSWORD)


def test_a_reset_tells_every_channel_the_account_has(client, provider, owner):
    citizen, _ = owner

    reset_by_sms(client, provider, citizen)

    told = {to: [p for p, _ in messages_to(provider, to)] for to in (citizen.phone, citizen.email)}
    assert "notice" in told[citizen.phone], f"the phone was not told of the reset: {told[citizen.phone]}"
    assert "notice" in told[citizen.email], f"the email was not told of the reset: {told[citizen.email]}"


def test_an_app_account_can_still_log_in_with_the_app_after_the_refused_sms_reset(client, clock, provider, app_owner):
    citizen, password, secret, _ = app_owner
    reset_by_sms(client, provider, citizen)
    client.cookies.clear()
    clock.advance(30)

    callback = walk_login(
        client, add_portal(provider), citizen.id_number, password, second_factor=lambda: totp_code(secret, clock.now())
    )

    assert "code" in callback
