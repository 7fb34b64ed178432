"""The account page's passkey forms sit behind recent authentication, and a browser's made-up
answer never enrols anything; passkeys are renamed, the last strong factor is removed only once
confirmed, and a first passkey comes with recovery codes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import urlsplit

from tests.factors.authenticator import SoftAuthenticator, enrol_on_account
from tests.helpers import CITIZEN, ISSUER, add_citizen, csrf_of, form_action, messages_to
from tests.security.conftest import account_login, audit_rows, browser_at, enrol_app

STALE = 11 * 60


def _post(client, action, **data):
    account = client.get("/account")
    return client.post(form_action(account.text, action), data={"csrf_token": csrf_of(account.text), **data})


def test_a_stale_session_must_reauthenticate_before_enrolling_or_removing_a_passkey(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    clock.advance(STALE)

    begin = _post(client, "/account/passkeys/new", name="Phone")
    account = client.get("/account")  # no passkey to list: the form a listed one would have
    remove = client.post(
        "/account/passkeys/remove", data={"csrf_token": csrf_of(account.text), "credential_id": "anything"}
    )

    assert begin.status_code == 303 and "/account/reauth" in begin.headers["location"]
    assert remove.status_code == 303 and "/account/reauth" in remove.headers["location"]


def test_a_fresh_session_gets_creation_options_for_this_issuer_and_a_forged_answer_is_refused(client, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)

    options = _post(client, "/account/passkeys/new", name="Phone")
    forged = client.post(
        "/account/passkeys",
        data={"csrf_token": csrf_of(options.text), "name": "Phone", "credential": '{"id": "x"}'},
    )

    assert options.status_code == 200 and 'data-passkey="create"' in options.text
    assert "&#34;userVerification&#34;:&#34;required&#34;" in options.text
    assert "script-src 'self'" in options.headers["content-security-policy"]
    assert forged.status_code == 401 and provider.store.passkeys.of(citizen.id) == []


def _device():
    return SoftAuthenticator(origin=ISSUER, rp_id=urlsplit(ISSUER).hostname)


def test_a_citizen_renames_a_passkey_under_the_enrolment_name_rules_and_the_rename_is_audited(client, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    enrol_on_account(client, _device(), "Phone")
    key = provider.store.passkeys.of(citizen.id)[0]

    too_long = _post(client, "/account/passkeys/rename", credential_id=key.credential_id, name="x" * 65)
    blank = _post(client, "/account/passkeys/rename", credential_id=key.credential_id, name="   ")
    renamed = _post(client, "/account/passkeys/rename", credential_id=key.credential_id, name="  Work   laptop ")

    assert too_long.status_code == 400 and blank.status_code == 400
    assert renamed.status_code == 200 and "Work laptop" in renamed.text
    assert provider.store.passkeys.of(citizen.id)[0].name == "Work laptop"
    renames = [r for r in audit_rows(provider, citizen) if r.action == "citizen.passkey.rename"]
    assert len(renames) == 1 and "Work laptop" in renames[0].detail


def test_renaming_needs_the_csrf_token_a_recent_authentication_and_the_citizens_own_passkey(client, clock, provider):
    citizen, password = add_citizen(provider)
    stranger, _ = add_citizen(provider, declaration=replace(CITIZEN, id_number="001090000999", phone="0912 345 999"))
    account_login(client, citizen, password)
    enrol_on_account(client, _device(), "Phone")
    key = provider.store.passkeys.of(citizen.id)[0]
    other = browser_at(client, "127.0.0.2")
    account_login(other, stranger, password)

    forged = client.post("/account/passkeys/rename", data={"credential_id": key.credential_id, "name": "Forged"})
    theirs = other.get("/account")  # no passkey listed there: the form a listed one would have
    not_theirs = other.post(
        "/account/passkeys/rename",
        data={"csrf_token": csrf_of(theirs.text), "credential_id": key.credential_id, "name": "Mine now"},
    )
    clock.advance(STALE)
    stale = _post(client, "/account/passkeys/rename", credential_id=key.credential_id, name="Later")

    assert forged.status_code == 403
    assert "/account/reauth" in stale.headers["location"]
    assert not_theirs.status_code == 200
    assert provider.store.passkeys.of(citizen.id)[0].name == "Phone"


def test_removing_the_last_strong_factor_asks_first_and_only_the_confirmed_post_removes_it(client, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    enrol_on_account(client, _device(), "Phone")
    key = provider.store.passkeys.of(citizen.id)[0]

    asked = _post(client, "/account/passkeys/remove", credential_id=key.credential_id)
    kept = provider.store.passkeys.count(citizen.id)
    confirmed = client.post(
        form_action(asked.text, "/account/passkeys/remove"),
        data={"csrf_token": csrf_of(asked.text), "credential_id": key.credential_id, "confirm": "yes"},
    )

    assert asked.status_code == 200 and 'id="confirm-remove"' in asked.text
    assert "mã SMS" in asked.text  # what the account falls back to: the password and SMS codes
    assert kept == 1
    assert confirmed.status_code == 200 and provider.store.passkeys.count(citizen.id) == 0
    removed = [r for r in audit_rows(provider, citizen) if r.action == "citizen.passkey.remove"]
    assert len(removed) == 1 and json.loads(removed[0].detail)["last_strong_factor"] is True
    assert any("go khoi" in text for _, text in messages_to(provider, citizen.phone))


def test_a_passkey_that_is_not_the_last_strong_factor_is_removed_without_the_extra_question(client, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    enrol_on_account(client, _device(), "Phone")
    enrol_on_account(client, _device(), "Laptop")
    first = provider.store.passkeys.of(citizen.id)[0]

    removed = _post(client, "/account/passkeys/remove", credential_id=first.credential_id)

    assert removed.status_code == 200 and 'id="confirm-remove"' not in removed.text
    assert [p.name for p in provider.store.passkeys.of(citizen.id)] == ["Laptop"]


def test_a_first_passkey_on_an_account_without_recovery_codes_shows_fresh_codes_once(client, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)

    first = enrol_on_account(client, _device(), "Phone")
    second = enrol_on_account(client, _device(), "Laptop")

    codes = re.findall(r"<li><code>([0-9A-Z-]+)</code></li>", first.text)
    assert len(codes) == 10 and provider.store.recovery_codes.remaining(citizen.id) == 10
    assert 'id="recovery-codes"' not in second.text


def test_a_first_passkey_keeps_the_recovery_codes_an_account_already_has(client, clock, provider):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    _, codes = enrol_app(client, clock)

    enrolled = enrol_on_account(client, _device(), "Phone")

    assert 'id="recovery-codes"' not in enrolled.text
    assert provider.store.recovery_codes.remaining(citizen.id) == len(codes)
