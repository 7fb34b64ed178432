"""The account page's passkey forms sit behind recent authentication, and a browser's made-up
answer never enrols anything."""

from __future__ import annotations

from tests.helpers import add_citizen, csrf_of, form_action
from tests.security.conftest import account_login

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
