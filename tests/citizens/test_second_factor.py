"""The authenticator app and recovery codes, enrolled from the account page and asked at login."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import jwt
import pytest
from sqlalchemy import text

from idp.crypto.totp import totp_code
from tests.helpers import (
    PageRefused,
    Pkce,
    add_citizen,
    add_portal,
    authorize_params,
    csrf_of,
    exchange,
    form_action,
    login_and_consent,
    messages_to,
    path_of,
    query_of,
    sent_codes,
)


def _account_login(client, citizen, password):
    start = client.get("/account")
    page = client.get(path_of(start.headers["location"]))
    done = client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
    )
    assert done.headers["location"].endswith("/account"), done.text
    return client.get("/account")


def _enrol(client, clock):
    account = client.get("/account")
    enrol = client.post(form_action(account.text, "/account/totp"), data={"csrf_token": csrf_of(account.text)})
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', enrol.text).group(1)
    confirmed = client.post(
        form_action(enrol.text, "/account/totp/confirm"),
        data={"csrf_token": csrf_of(enrol.text), "code": totp_code(secret, clock.now())},
    )
    codes = re.findall(r"<li><code>([0-9A-Z-]+)</code></li>", confirmed.text)
    return enrol, secret, codes


@pytest.fixture
def enrolled(client, clock, provider):
    citizen, password = add_citizen(provider)
    _account_login(client, citizen, password)
    enrol, secret, codes = _enrol(client, clock)
    client.cookies.clear()
    clock.advance(30)
    return citizen, password, secret, codes, enrol


def _claims(client, portal, callback, pkce):
    tokens = exchange(client, portal, callback["code"], pkce).json()
    return jwt.decode(tokens["id_token"], options={"verify_signature": False})


def test_the_account_page_shows_the_citizen_their_id_number(client, provider):
    citizen, password = add_citizen(provider)

    account = _account_login(client, citizen, password)

    assert f"<dd>{citizen.id_number}</dd>" in account.text


def test_enrolment_shows_a_qr_code_and_the_key_and_gives_ten_recovery_codes(enrolled):
    _, _, secret, codes, enrol = enrolled

    assert "<svg" in enrol.text and "<script" not in enrol.text
    assert len(secret) == 32 and len(codes) == 10 and len(set(codes)) == 10
    assert enrol.headers["cache-control"] == "no-store"


def test_the_totp_seed_is_sealed_at_rest(provider, enrolled):
    _citizen, _, secret, _, _ = enrolled

    with provider.store.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_sealed FROM totp_factor")).scalar()

    assert secret not in stored and stored.startswith("v1.")


def test_an_enrolled_citizen_is_asked_for_the_app_code_and_the_token_says_otp(client, clock, provider, enrolled):
    citizen, password, secret, _, _ = enrolled
    portal = add_portal(provider)
    pkce = Pkce()

    callback = login_and_consent(
        client, portal, citizen.id_number, password, pkce, second_factor=lambda: totp_code(secret, clock.now())
    )

    claims = _claims(client, portal, callback, pkce)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "LoA1"


def test_a_wrong_app_code_is_refused(client, provider, enrolled):
    citizen, password, _, _, _ = enrolled
    portal = add_portal(provider)

    with pytest.raises(PageRefused) as refused:
        login_and_consent(client, portal, citizen.id_number, password, second_factor=lambda: "000000")

    assert refused.value.response.status_code == 401 and "/second-factor" in refused.value.response.text


def test_an_app_code_is_never_accepted_twice(client, clock, provider, enrolled):
    citizen, password, secret, _, _ = enrolled
    portal = add_portal(provider)
    code = totp_code(secret, clock.now())
    login_and_consent(client, portal, citizen.id_number, password, second_factor=lambda: code)
    client.cookies.clear()

    with pytest.raises(PageRefused) as refused:
        login_and_consent(client, portal, citizen.id_number, password, second_factor=lambda: code)

    assert refused.value.response.status_code == 401


def test_a_recovery_code_works_once(client, provider, enrolled):
    citizen, password, _, codes, _ = enrolled
    portal = add_portal(provider)

    def use_recovery(code):
        start = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce())))
        page = client.get(path_of(start.headers["location"]))
        second = client.post(
            form_action(page.text, "/login"),
            data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
        )
        recovery_page = client.get(path_of(second.headers["location"]) + "?method=recovery")
        return client.post(
            form_action(recovery_page.text, "/second-factor"),
            data={"csrf_token": csrf_of(recovery_page.text), "method": "recovery", "code": code.lower()},
        )

    first = use_recovery(codes[0])
    client.cookies.clear()
    again = use_recovery(codes[0])

    assert first.status_code == 303 and again.status_code == 401


def test_an_sms_code_never_stands_in_for_the_app(client, provider, enrolled):
    """Issue 12: SMS alone never yields a second factor on an account with a stronger one (a swapped
    SIM plus a reset would otherwise be the whole account). Was: an SMS code stood in for the app."""
    citizen, password, _, _, _ = enrolled
    start = client.get("/authorize?" + urlencode(authorize_params(add_portal(provider), Pkce())))
    page = client.get(path_of(start.headers["location"]))
    second = client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
    )
    sms_page = client.get(path_of(second.headers["location"]) + "?method=sms")

    sent = client.post(
        form_action(sms_page.text, "/second-factor"),
        data={"csrf_token": csrf_of(sms_page.text), "method": "sms", "action": "send"},
    )
    answered = client.post(
        form_action(sms_page.text, "/second-factor"),
        data={"csrf_token": csrf_of(sms_page.text), "method": "sms", "code": "123456"},
    )

    assert 'data-method="sms"' not in sms_page.text and 'value="sms"' not in sms_page.text
    assert sent.status_code == 400 and "login" not in [p for p, _ in messages_to(provider, citizen.phone)]
    assert answered.status_code == 400


def _verify_identity(provider, citizen):
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET level = 'LoA2' WHERE id = :id"), {"id": citizen.id})


def test_a_verified_citizen_reaches_loa2_with_two_factors(client, clock, provider, enrolled):
    citizen, password, secret, _, _ = enrolled
    _verify_identity(provider, citizen)
    portal = add_portal(provider)
    pkce = Pkce()

    callback = login_and_consent(
        client,
        portal,
        citizen.id_number,
        password,
        pkce,
        acr_values="LoA2",
        second_factor=lambda: totp_code(secret, clock.now()),
    )

    assert _claims(client, portal, callback, pkce)["acr"] == "LoA2"


def test_a_verified_citizen_without_an_app_reaches_loa2_with_an_sms_code(client, provider):
    citizen, password = add_citizen(provider)
    _verify_identity(provider, citizen)
    portal = add_portal(provider)
    pkce = Pkce()
    start = client.get("/authorize?" + urlencode(authorize_params(portal, pkce, acr_values="LoA2")))
    page = client.get(path_of(start.headers["location"]))
    second = client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
    )
    sms_page = client.get(path_of(second.headers["location"]))
    assert 'name="method" value="sms"' in sms_page.text
    sent = client.post(
        form_action(sms_page.text, "/second-factor"),
        data={"csrf_token": csrf_of(sms_page.text), "method": "sms", "action": "send"},
    )
    done = client.post(
        form_action(sent.text, "/second-factor"),
        data={
            "csrf_token": csrf_of(sent.text),
            "method": "sms",
            "code": sent_codes(provider, citizen.phone, "login")[-1],
        },
    )
    consent = client.get(path_of(done.headers["location"]))
    back = client.post(
        form_action(consent.text, "/consent"), data={"csrf_token": csrf_of(consent.text), "decision": "allow"}
    )

    assert _claims(client, portal, query_of(back.headers["location"]), pkce)["acr"] == "LoA2"


def test_a_loa1_session_steps_up_to_loa2_without_the_password_again(client, clock, provider):
    citizen, password = add_citizen(provider)
    _verify_identity(provider, citizen)
    portal = add_portal(provider)
    login_and_consent(client, portal, citizen.id_number, password)

    start = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), acr_values="LoA2")))
    page = client.get(path_of(start.headers["location"]))

    assert 'name="password"' not in page.text and "/second-factor" in page.text


def test_an_unverified_citizen_asking_loa2_is_refused_without_typing_anything_when_logged_in(client, provider):
    citizen, password = add_citizen(provider)
    portal = add_portal(provider)
    login_and_consent(client, portal, citizen.id_number, password)

    start = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), acr_values="LoA2")))

    assert query_of(start.headers["location"])["error"] == "unmet_authentication_requirements"


def test_a_portal_registered_for_loa2_gets_it_or_nothing_whatever_it_asks(client, clock, provider, enrolled):
    citizen, password, secret, _, _ = enrolled
    strict = add_portal(provider, min_level="LoA2")
    pkce = Pkce()

    refused = login_and_consent(
        client, strict, citizen.id_number, password, pkce, second_factor=lambda: totp_code(secret, clock.now())
    )
    _verify_identity(provider, citizen)
    client.cookies.clear()
    clock.advance(30)
    granted = login_and_consent(
        client, strict, citizen.id_number, password, pkce, second_factor=lambda: totp_code(secret, clock.now())
    )

    assert refused["error"] == "unmet_authentication_requirements"
    assert _claims(client, strict, granted, pkce)["acr"] == "LoA2"


def test_logins_and_factor_changes_reach_the_audit_trail_with_ip_and_user_agent(client, clock, provider, enrolled):
    from idp.core import audit

    citizen, password, secret, _, _ = enrolled
    portal = add_portal(provider)
    login_and_consent(client, portal, citizen.id_number, password, second_factor=lambda: totp_code(secret, clock.now()))

    with provider.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, outcome, ip, user_agent, detail FROM audit_event WHERE subject = :s ORDER BY seq"),
            {"s": f"citizen:{citizen.id}"},
        ).all()
    actions = [(r.action, r.outcome) for r in rows]
    assert ("factor.totp.enrolled", "success") in actions and ("citizen.login", "success") in actions
    assert ("citizen.login.password", "success") in actions
    assert all(r.ip == "testclient" and r.user_agent for r in rows)
    assert all("request_id" in r.detail for r in rows)
    assert audit.verify(provider).ok
