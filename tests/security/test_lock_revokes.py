"""Issue 12, attack 5: locking an account must end what it had already been given.

Locking (console form or admin API) revokes the account's grants and refresh tokens at once and sends
back-channel logout to its portals; introspection answers `active: false` for any token of an account
that is not active. A refresh token issued before the lock stays dead after the unlock.
"""

from __future__ import annotations

import pytest

from idp.core import limits, staff
from idp.core.authn import LoginFailed, verify_password
from idp.core.limits import TooManyAttempts
from idp.crypto.totp import totp_code
from idp.http import csrf
from tests.helpers import Pkce, add_portal, exchange, login_and_consent, messages_to

LOGOUT_URI = "https://portal.example/backchannel-logout"
STAFF_PASSWORD = "staff password long enough"


def _admin_headers(client, provider, clock):
    created = staff.add_staff(provider, username="locker", roles=["admin"], password=STAFF_PASSWORD)
    done = staff.login(provider, "locker", STAFF_PASSWORD, totp_code(created.totp_secret, clock.now()))
    client.cookies.set("__Host-idp_staff", done.cookie_value)
    return {"X-CSRF-Token": csrf.token(done.cookie_value, csrf.STAFF)}


def _tokens(client, provider, citizen, password):
    portal = add_portal(provider, backchannel_logout_uri=LOGOUT_URI)
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce, scope="openid offline_access")
    tokens = exchange(client, portal, callback["code"], pkce).json()
    client.cookies.clear()
    return portal, tokens


def _lock(client, provider, clock, citizen, action="lock"):
    headers = _admin_headers(client, provider, clock) if action == "lock" else {}
    answer = client.post(f"/admin/api/citizens/{citizen.id}/{action}", json={"reason": "stolen phone"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return headers


def test_a_refresh_token_issued_before_a_lock_is_refused_after_the_unlock(client, clock, provider, owner):
    citizen, password = owner
    portal, tokens = _tokens(client, provider, citizen, password)
    headers = _lock(client, provider, clock, citizen)
    client.post(f"/admin/api/citizens/{citizen.id}/unlock", json={"reason": "owner at the counter"}, headers=headers)
    client.cookies.clear()

    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )

    assert refreshed.status_code == 400, f"the pre-lock refresh token still works: {refreshed.status_code}"
    assert refreshed.json()["error"] == "invalid_grant"


def test_introspection_says_inactive_for_the_tokens_of_a_locked_account(client, clock, provider, owner):
    citizen, password = owner
    portal, tokens = _tokens(client, provider, citizen, password)
    _lock(client, provider, clock, citizen)
    client.cookies.clear()

    answers = {
        kind: client.post("/introspect", auth=portal.basic, data={"token": tokens[kind]}).json()["active"]
        for kind in ("access_token", "refresh_token")
    }

    assert answers == {"access_token": False, "refresh_token": False}


def test_locking_an_account_sends_back_channel_logout_to_its_portals(client, clock, provider, owner):
    citizen, password = owner
    _tokens(client, provider, citizen, password)

    _lock(client, provider, clock, citizen)

    assert [p for p, _ in messages_to(provider, LOGOUT_URI)] == ["logout"], "no back-channel logout was queued"


def test_a_strangers_guesses_up_to_the_hard_cap_do_not_revoke_what_the_owner_was_given(client, clock, provider, owner):
    """The hard cap of failures from unknown browsers locks out unknown browsers only: revoking the
    account's grants there would let anyone who knows an ID number log the owner out of every portal."""
    citizen, password = owner
    portal, tokens = _tokens(client, provider, citizen, password)

    for _ in range(limits.PASSWORD_HARD_CAP):
        with pytest.raises((LoginFailed, TooManyAttempts)):
            verify_password(provider, citizen.id_number, "a stranger's guess", "203.0.113.9")
        clock.advance(limits.MAX_DELAY + 1)
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )

    assert provider.store.failures.state(citizen.id, "password").locked, "the guesses did not reach the hard cap"
    assert refreshed.status_code == 200, refreshed.text
    assert messages_to(provider, LOGOUT_URI) == []
