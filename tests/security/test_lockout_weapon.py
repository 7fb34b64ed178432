"""Issue 12, attack 4: an anonymous attacker who knows only an ID number (or a staff username) must not
be able to lock the owner out.

Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that once
logged in successfully is the owner's known device and keeps its own budget; failures from unknown
browsers and addresses only slow unknown browsers. Code failures count per flow. The daily SMS cap per
phone is split: a small anonymous budget, a larger one for the signed-in or known-device owner. Staff
usernames are folded (case, surrounding spaces) before counting, under the same rules.

Each attacker here is a fresh browser at its own address; the owner uses the browser they logged in
with before the attack (whatever device cookie the provider set there).
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import text

from idp.core import limits, staff
from idp.crypto.totp import totp_code
from tests.helpers import Pkce, add_portal, authorize_params, csrf_of, form_action, login_and_consent, path_of
from tests.security.conftest import browser_at, start_reset

STAFF_PASSWORD = "staff password long enough"


def _attacker(client, n):
    return browser_at(client, f"203.0.113.{n + 1}")


def _verified(provider, citizen):
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET level = 'LoA2' WHERE id = :id"), {"id": citizen.id})


def _to_second_factor(client, portal, citizen, password):
    start = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), acr_values="LoA2", prompt="login")))
    page = client.get(path_of(start.headers["location"]))
    second = client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
    )
    assert second.status_code == 303, second.text
    return client.get(path_of(second.headers["location"]) + "?method=sms")


def test_anonymous_resets_do_not_spend_the_sms_the_owners_login_needs(client, clock, provider, owner):
    citizen, password = owner
    _verified(provider, citizen)
    portal = add_portal(provider)
    login_and_consent(client, portal, citizen.id_number, password)  # the owner's browser becomes known
    clock.advance(61)
    for n in range(limits.SENDS_PER_DESTINATION_PER_DAY):
        start_reset(_attacker(client, n), citizen.id_number)
        clock.advance(61)

    sms_page = _to_second_factor(client, portal, citizen, password)
    sent = client.post(
        form_action(sms_page.text, "/second-factor"),
        data={"csrf_token": csrf_of(sms_page.text), "method": "sms", "action": "send"},
    )

    assert sent.status_code == 200, f"the owner's login SMS was refused ({sent.status_code}) after anonymous resets"


def test_anonymous_resets_do_not_spend_the_owners_own_reset(client, clock, provider, owner):
    citizen, password = owner
    login_and_consent(client, add_portal(provider), citizen.id_number, password)
    clock.advance(61)
    for n in range(limits.SENDS_PER_DESTINATION_PER_DAY):
        start_reset(_attacker(client, n), citizen.id_number)
        clock.advance(61)

    own = start_reset(client, citizen.id_number)

    assert own.status_code == 200, f"the owner's own reset was refused ({own.status_code}) after anonymous resets"


def test_wrong_codes_in_a_reset_the_attacker_started_do_not_block_the_owners_app_login(
    client, clock, provider, app_owner
):
    citizen, password, secret, _ = app_owner
    attacker = _attacker(client, 0)
    page = start_reset(attacker, citizen.id_number)
    for guess in ("000000", "111111", "222222", "333333", "444444"):
        attacker.post(
            form_action(page.text, "/reset/"),
            data={"csrf_token": csrf_of(page.text), "code": guess, "password": "một mật khẩu mới thật dài"},
        )

    callback = login_and_consent(
        client, add_portal(provider), citizen.id_number, password, second_factor=lambda: totp_code(secret, clock.now())
    )

    assert "code" in callback


def test_password_failures_from_unknown_browsers_do_not_block_the_owners_known_browser(client, clock, provider, owner):
    citizen, password = owner
    portal = add_portal(provider)
    login_and_consent(client, portal, citizen.id_number, password)
    for n in range(limits.PASSWORD_FREE_TRIES * 2):
        attacker = _attacker(client, n)
        start = attacker.get("/authorize?" + urlencode(authorize_params(portal, Pkce())))
        page = attacker.get(path_of(start.headers["location"]))
        attacker.post(
            form_action(page.text, "/login"),
            data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": f"guess {n}"},
        )

    callback = login_and_consent(client, portal, citizen.id_number, password, prompt="login")

    assert "code" in callback


def _staff_login(browser, username, password, code):
    page = browser.get("/admin/login")
    return browser.post(
        "/admin/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password, "code": code},
    )


def test_failures_for_a_folded_staff_username_from_unknown_browsers_do_not_lock_the_real_member(
    client, clock, provider
):
    created = staff.add_staff(provider, username="super2", roles=["supervisor"], password=STAFF_PASSWORD)
    first = _staff_login(client, "super2", STAFF_PASSWORD, totp_code(created.totp_secret, clock.now()))
    assert first.status_code == 303, first.text
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/").text)})
    for n in range(staff.FAILURES_PER_USERNAME):
        _staff_login(_attacker(client, n), "SUPER2 ", "not the password", "000000")
    clock.advance(30)

    again = _staff_login(client, "super2", STAFF_PASSWORD, totp_code(created.totp_secret, clock.now()))

    assert again.status_code == 303, f"the real super2 was locked out from their own browser ({again.status_code})"
