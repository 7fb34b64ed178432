"""Issue 12, attack 1: every form that checks a password is a guessing oracle unless it shares the
login's limiter, honours its lock and writes to the audit trail.

Assumed for the implementer:
- the change-password page is `GET/POST /account/password` (fields `csrf_token`, `current_password`,
  `new_password`), a wrong current password answers 401;
- the re-authentication page of "sudo mode" is `GET/POST /account/reauth` (fields `csrf_token`, `password`,
  and `code` on a two-factor account), a wrong password answers 401;
- a wrong password at any of them is counted by the login limiter (`failures`, kind `password`) and audited
  as a failure on the citizen.
"""

from __future__ import annotations

from idp.core import limits
from tests.helpers import csrf_of, form_action, messages_to
from tests.security.conftest import NEW_PASSWORD, account_login, audit_rows, password_failures

NEW_PHONE = "0977 000 111"


def _change_phone(client, password):
    account = client.get("/account")
    return client.post(
        form_action(account.text, "/account/phone"),
        data={"csrf_token": csrf_of(account.text), "phone": NEW_PHONE, "password": password},
    )


def _change_password(client, current):
    account = client.get("/account")
    return client.post(
        "/account/password",
        data={"csrf_token": csrf_of(account.text), "current_password": current, "new_password": NEW_PASSWORD},
    )


def _phone_codes(provider):
    return [p for p, _ in messages_to(provider, "+84977000111") if p == "phone_change"]


def test_wrong_passwords_at_the_phone_form_count_as_login_failures(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)

    for _ in range(3):
        _change_phone(client, "not the password")

    assert password_failures(provider, citizen) == 3, "wrong passwords here are not counted by the login limiter"


def test_the_phone_form_refuses_the_right_password_after_the_free_tries_are_spent(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    for _ in range(limits.PASSWORD_FREE_TRIES):
        assert _change_phone(client, "not the password").status_code == 401

    right = _change_phone(client, password)

    assert _phone_codes(provider) == [], f"the right password after {limits.PASSWORD_FREE_TRIES} guesses got {right}"


def test_the_phone_form_refuses_the_right_password_while_the_account_is_locked(client, clock, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    for _ in range(limits.PASSWORD_HARD_CAP):
        provider.store.failures.record(citizen.id, "password", clock.now(), limits.password_delay)
    clock.advance(limits.MAX_DELAY + 1)

    _change_phone(client, password)

    assert _phone_codes(provider) == []


def test_a_wrong_password_at_the_phone_form_is_audited(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    before = len(audit_rows(provider, citizen))

    _change_phone(client, "not the password")

    new = audit_rows(provider, citizen)[before:]
    assert [r for r in new if r.outcome == "failure"], (
        f"no failure audited, only {[(r.action, r.outcome) for r in new]}"
    )


def test_wrong_current_passwords_at_the_password_page_are_refused_counted_and_audited(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    before = len(audit_rows(provider, citizen))

    answers = [_change_password(client, "not the password").status_code for _ in range(3)]

    assert answers == [401, 401, 401]
    assert password_failures(provider, citizen) == 3, "wrong passwords here are not counted by the login limiter"
    assert [r for r in audit_rows(provider, citizen)[before:] if r.outcome == "failure"]


def test_the_password_page_refuses_the_right_current_password_after_the_free_tries_are_spent(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    for _ in range(limits.PASSWORD_FREE_TRIES):
        assert _change_password(client, "not the password").status_code == 401

    right = _change_password(client, password)

    assert right.status_code in (401, 429)
    assert provider.passwords.verify(provider.store.citizens.find_for_login(citizen.id_number, None)[1], password)


def test_wrong_passwords_at_the_reauthentication_page_count_as_login_failures(client, provider, owner):
    citizen, password = owner
    account_login(client, citizen, password)
    account = client.get("/account")

    answers = [
        client.post("/account/reauth", data={"csrf_token": csrf_of(account.text), "password": "not it"}).status_code
        for _ in range(3)
    ]

    assert answers == [401, 401, 401]
    assert password_failures(provider, citizen) == 3, "wrong passwords here are not counted by the login limiter"
