"""Issue 12, attack 2: a stolen session cookie must not become lasting control of the account.

Changing the phone, the password, the authenticator or the recovery codes needs a recent
authentication ("sudo mode"): the password, plus a second factor on a two-factor account, entered at
most `IDP_REAUTH_MINUTES` minutes before (setting `reauth_minutes`, default 10). Here each attack is
tried with a session whose login is eleven minutes old (the session itself is still alive: idle
30 minutes), so the page must ask to re-authenticate instead of acting.

Assumed: the change-password page is `GET/POST /account/password` (fields `csrf_token`,
`current_password`, `new_password`), CSRF like the other account forms.
"""

from __future__ import annotations

from sqlalchemy import text

from idp.core import factors
from idp.crypto.totp import totp_code
from tests.helpers import csrf_of, form_action, messages_to
from tests.security.conftest import NEW_PASSWORD, account_login, enrol_app

STALE = 11 * 60


def _recovery_digests(provider, citizen):
    with provider.store.engine.connect() as conn:
        return sorted(
            conn.execute(
                text("SELECT code_digest FROM recovery_code WHERE citizen_id = :c"), {"c": citizen.id}
            ).scalars()
        )


def test_enrolling_an_authenticator_with_a_stale_session_is_refused(client, clock, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    clock.advance(STALE)
    account = client.get("/account")

    enrol = client.post(form_action(account.text, "/account/totp"), data={"csrf_token": csrf_of(account.text)})

    assert 'id="totp-secret"' not in enrol.text, (
        "a new authenticator's secret was shown to an eleven-minute-old session"
    )
    assert provider.store.authenticators.get(citizen.id) is None


def test_confirming_an_authenticator_with_a_stale_session_is_refused(client, clock, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    account = client.get("/account")
    enrol = client.post(form_action(account.text, "/account/totp"), data={"csrf_token": csrf_of(account.text)})
    secret = enrol.text.split('<code id="totp-secret">')[1].split("<")[0]
    clock.advance(STALE)

    confirmed = client.post(
        form_action(enrol.text, "/account/totp/confirm"),
        data={"csrf_token": csrf_of(enrol.text), "code": totp_code(secret, clock.now())},
    )

    assert not factors.has_totp(provider, citizen.id), f"the authenticator was enrolled ({confirmed.status_code})"


def test_regenerating_recovery_codes_with_a_stale_session_keeps_the_owners_codes(client, clock, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    enrol_app(client, clock)
    before = _recovery_digests(provider, citizen)
    clock.advance(STALE)
    account = client.get("/account")

    answer = client.post(
        form_action(account.text, "/account/recovery-codes"), data={"csrf_token": csrf_of(account.text)}
    )

    assert "<li><code>" not in answer.text, "new recovery codes were shown to an eleven-minute-old session"
    assert _recovery_digests(provider, citizen) == before, "the owner's recovery codes were cancelled"


def test_changing_the_phone_of_a_two_factor_account_with_a_stale_session_needs_the_second_factor(
    client, clock, provider, app_owner
):
    citizen, password, secret, _ = app_owner
    account_login(client, citizen, password, lambda: totp_code(secret, clock.now()))
    clock.advance(STALE)
    account = client.get("/account")

    client.post(
        form_action(account.text, "/account/phone"),
        data={"csrf_token": csrf_of(account.text), "phone": "0977 000 111", "password": password},
    )

    assert [p for p, _ in messages_to(provider, "+84977000111")] == [], (
        "the password alone, eleven minutes after login, moved a two-factor account's phone"
    )


def test_changing_the_password_with_a_stale_session_is_refused(client, clock, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    clock.advance(STALE)
    account = client.get("/account")

    answer = client.post(
        "/account/password",
        data={"csrf_token": csrf_of(account.text), "current_password": password, "new_password": NEW_PASSWORD},
    )

    stored = provider.store.citizens.find_for_login(citizen.id_number, None)[1]
    assert answer.status_code != 404, "there is no change-password page at /account/password"
    assert provider.passwords.verify(stored, password) and answer.status_code in (401, 403, 303)


def test_the_password_page_changes_the_password_right_after_login(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    page = client.get("/account/password")
    assert page.status_code == 200, f"GET /account/password answered {page.status_code}"

    answer = client.post(
        "/account/password",
        data={"csrf_token": csrf_of(page.text), "current_password": password, "new_password": NEW_PASSWORD},
    )

    stored = provider.store.citizens.find_for_login(citizen.id_number, None)[1]
    assert answer.status_code == 200 and provider.passwords.verify(stored, NEW_PASSWORD)
