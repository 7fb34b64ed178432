"""Password failures per account and per IP, and the reset by SMS code that ends everything."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from idp.core import limits
from idp.i18n import t
from tests.helpers import (
    Pkce,
    add_citizen,
    add_portal,
    authorize_params,
    csrf_of,
    error_words,
    exchange,
    form_action,
    login_and_consent,
    messages_to,
    path_of,
    sent_codes,
)


def _try_login(client, portal, identifier, password, ip_headers=None):
    start = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce())))
    page = client.get(path_of(start.headers["location"]))
    return client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": identifier, "password": password},
    )


@pytest.fixture
def setup(client, provider):
    citizen, password = add_citizen(provider)
    return add_portal(provider), citizen, password


def _message(response):
    return error_words(response.text)


def test_after_five_failures_even_the_right_password_is_told_to_wait_a_minute_as_an_unknown_identifier_is(
    client, clock, setup
):
    portal, citizen, password = setup
    unknown_id = "079090000999"
    for _ in range(limits.PASSWORD_FREE_TRIES):
        assert _try_login(client, portal, citizen.id_number, "wrong password!").status_code == 401
        assert _try_login(client, portal, unknown_id, "wrong password!").status_code == 401

    blocked = _try_login(client, portal, citizen.id_number, password)
    unknown = _try_login(client, portal, unknown_id, "x" * 10)
    clock.advance(60)
    allowed = _try_login(client, portal, citizen.id_number, password)

    assert blocked.status_code == unknown.status_code == 429
    assert _message(blocked) == _message(unknown) == t("vi", "login.wait", minutes=1)
    assert allowed.status_code == 303


def test_delays_grow_and_cap_at_fifteen_minutes(provider):
    assert [limits.password_delay(n)[0] for n in (4, 5, 6, 7, 8, 9, 20)] == [0, 60, 120, 240, 480, 900, 900]


def test_a_hundred_failures_lock_the_account_until_a_reset_by_sms(client, clock, provider, setup):
    portal, citizen, password = setup
    for _ in range(limits.PASSWORD_HARD_CAP):
        provider.store.failures.record(citizen.id, "password", clock.now(), limits.password_delay)
    clock.advance(limits.MAX_DELAY + 1)

    locked = _try_login(client, portal, citizen.id_number, password)
    _reset(client, provider, citizen, "một mật khẩu mới thật dài")
    after = _try_login(client, portal, citizen.id_number, "một mật khẩu mới thật dài")

    assert locked.status_code == 429 and _message(locked) == t("vi", "login.locked_reset")
    assert after.status_code == 303


def test_one_address_is_refused_after_a_hundred_failed_logins_whatever_the_account(client, provider, setup):
    portal, citizen, password = setup
    for _ in range(limits.LOGIN_FAILURES_PER_IP):
        provider.store.counters.hit("login-fail-ip:testclient", limits.LOGIN_FAILURE_WINDOW, provider.clock.now())

    response = _try_login(client, portal, citizen.id_number, password)

    assert response.status_code == 429


def _reset(client, provider, citizen, new_password, identifier=None):
    form = client.get("/reset")
    started = client.post(
        form_action(form.text, "/reset"),
        data={"csrf_token": csrf_of(form.text), "identifier": identifier or citizen.id_number},
    )
    page = client.get(path_of(started.headers["location"]))
    code = sent_codes(provider, citizen.phone, "reset")[-1]
    return started, client.post(
        form_action(page.text, "/reset/"),
        data={"csrf_token": csrf_of(page.text), "code": code, "password": new_password},
    )


def test_a_reset_sets_the_new_password_and_ends_sessions_and_refresh_tokens(client, provider, setup):
    portal, citizen, password = setup
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce, scope="openid offline_access")
    tokens = exchange(client, portal, callback["code"], pkce).json()

    _, done = _reset(client, provider, citizen, "một mật khẩu mới thật dài", identifier="0912 345 678")

    assert done.status_code == 200
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"
    silent = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), prompt="none")))
    assert "login_required" in silent.headers["location"]
    assert _try_login(client, portal, citizen.id_number, password).status_code == 401


def test_a_reset_for_an_unknown_account_answers_the_same_and_sends_nothing(client, provider, setup):
    form = client.get("/reset")
    known = client.post(
        form_action(form.text, "/reset"), data={"csrf_token": csrf_of(form.text), "identifier": setup[1].id_number}
    )
    unknown = client.post(
        form_action(form.text, "/reset"), data={"csrf_token": csrf_of(form.text), "identifier": "079090000999"}
    )

    assert known.status_code == unknown.status_code == 303
    assert client.get(path_of(unknown.headers["location"])).status_code == 200
    assert len(sent_codes(provider, setup[1].phone, "reset")) == 1


def test_a_reset_refuses_a_weak_new_password_without_burning_the_code(client, provider, setup):
    _portal, citizen, _ = setup
    form = client.get("/reset")
    started = client.post(
        form_action(form.text, "/reset"), data={"csrf_token": csrf_of(form.text), "identifier": citizen.id_number}
    )
    page = client.get(path_of(started.headers["location"]))
    code = sent_codes(provider, citizen.phone, "reset")[-1]

    weak = client.post(
        form_action(page.text, "/reset/"), data={"csrf_token": csrf_of(page.text), "code": code, "password": "12345678"}
    )
    strong = client.post(
        form_action(page.text, "/reset/"),
        data={"csrf_token": csrf_of(page.text), "code": code, "password": "một mật khẩu mới thật dài"},
    )

    assert weak.status_code == 400 and strong.status_code == 200


def test_changing_the_phone_needs_the_password_and_a_code_to_the_new_number(client, provider, setup):
    portal, citizen, password = setup
    login_and_consent(client, portal, citizen.id_number, password)
    account = client.get("/account")

    wrong = client.post(
        form_action(account.text, "/account/phone"),
        data={"csrf_token": csrf_of(account.text), "phone": "0977 000 111", "password": "not it at all"},
    )
    started = client.post(
        form_action(account.text, "/account/phone"),
        data={"csrf_token": csrf_of(account.text), "phone": "0977 000 111", "password": password},
    )
    done = client.post(
        form_action(started.text, "/account/phone/confirm"),
        data={
            "csrf_token": csrf_of(started.text),
            "flow_id": re.search(r'name="flow_id" value="([^"]+)"', started.text).group(1),
            "code": sent_codes(provider, "+84977000111", "phone_change")[-1],
        },
    )

    assert wrong.status_code == 401 and started.status_code == 200 and done.status_code == 200
    assert "0977000111" in done.text
    assert [p for p, _ in messages_to(provider, citizen.phone)] == ["notice"]


def test_the_account_page_refuses_a_form_without_its_csrf_token(client, provider, setup):
    _portal, citizen, password = setup
    start = client.get("/account")
    page = client.get(path_of(start.headers["location"]))
    client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
    )

    response = client.post("/account/totp", data={"csrf_token": "forged"})

    assert response.status_code == 403


def test_the_account_page_without_a_session_sends_the_citizen_to_log_in(client):
    response = client.get("/account")

    assert response.status_code == 303 and "/interaction/" in response.headers["location"]
