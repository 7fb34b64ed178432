"""The owner's side of sudo mode: re-authenticating brings a stale session back to the change it
wanted, with the second factor on a two-factor account; the password page changes the password,
ends the other sessions and tells the citizen."""

from __future__ import annotations

from idp.crypto.totp import totp_code
from tests.helpers import add_citizen, csrf_of, form_action, messages_to, path_of
from tests.security.conftest import NEW_PASSWORD, account_login, browser_at, enrol_app

STALE = 11 * 60


def _reauth(client, password, code=None, next_page="/account"):
    page = client.get("/account/reauth", params={"next": next_page})
    data = {"csrf_token": csrf_of(page.text), "password": password, "next": next_page}
    if code is not None:
        data["code"] = code
    return client.post(form_action(page.text, "/account/reauth"), data=data)


def _enrol(client):
    account = client.get("/account")
    return client.post(form_action(account.text, "/account/totp"), data={"csrf_token": csrf_of(account.text)})


def test_a_stale_session_is_sent_to_reauthenticate_and_then_can_enrol(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    clock.advance(STALE)

    refused = _enrol(client)
    page = client.get(path_of(refused.headers["location"]))
    back = _reauth(client, password)
    enrolled = _enrol(client)

    assert refused.status_code == 303 and "/account/reauth?next=%2Faccount" in refused.headers["location"]
    assert page.status_code == 200 and 'name="code"' not in page.text
    assert back.status_code == 303 and path_of(back.headers["location"]).startswith("/account?")
    assert 'id="totp-secret"' in enrolled.text


def test_a_two_factor_account_reauthenticates_only_with_the_app_code(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    secret, _ = enrol_app(client, clock)
    clock.advance(STALE)

    alone = _reauth(client, password)
    wrong = _reauth(client, password, "000000")
    right = _reauth(client, password, totp_code(secret, clock.now()))

    assert alone.status_code == 401 and 'name="code"' in alone.text
    assert wrong.status_code == 401
    assert right.status_code == 303


def test_a_recovery_code_also_reauthenticates_a_two_factor_account(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    _, codes = enrol_app(client, clock)
    clock.advance(STALE)

    answer = _reauth(client, password, codes[0].lower())

    assert answer.status_code == 303
    assert provider.store.recovery_codes.remaining(citizen.id) == len(codes) - 1


def test_reauthentication_sends_the_citizen_back_only_to_an_account_page(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)

    answer = _reauth(client, password, next_page="https://attacker.example/account")

    assert path_of(answer.headers["location"]).startswith("/account?")
    assert answer.headers["location"].startswith(provider.issuer)


def test_changing_the_password_ends_the_other_sessions_keeps_this_one_and_tells_the_citizen(client, provider):
    citizen, password = add_citizen(provider)
    other = browser_at(client, "198.51.100.7")
    account_login(other, citizen, password)
    account_login(client, citizen, password)
    page = client.get("/account/password")

    changed = client.post(
        form_action(page.text, "/account/password"),
        data={"csrf_token": csrf_of(page.text), "current_password": password, "new_password": NEW_PASSWORD},
    )

    assert changed.status_code == 200
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 303, "the other browser is still signed in"
    assert [p for p, _ in messages_to(provider, citizen.phone)][-1:] == ["notice"]


def test_a_new_password_the_policy_refuses_keeps_the_old_one(client, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    page = client.get("/account/password")

    answer = client.post(
        form_action(page.text, "/account/password"),
        data={"csrf_token": csrf_of(page.text), "current_password": password, "new_password": "12345678"},
    )

    stored = provider.store.citizens.find_for_login(citizen.id_number, None)[1]
    assert answer.status_code == 400 and provider.passwords.verify(stored, password)


def test_the_account_page_links_to_the_password_page(client, provider):
    citizen, password = add_citizen(provider)

    account = account_login(client, citizen, password)

    assert 'href="/account/password?lang=' in account.text
