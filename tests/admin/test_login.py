"""Staff log in with password and TOTP, always; sessions are short, bound to the console, and audited."""

from __future__ import annotations

from idp.core import audit
from idp.crypto.totp import totp_code
from tests.admin.conftest import PASSWORD, add_staff, cookie_name, csrf_in


def _login(client, username, password, code):
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"csrf_token": csrf_in(page.text), "username": username, "password": password, "code": code},
    )


def test_a_staff_member_logs_in_with_password_and_totp_and_gets_a_strict_host_cookie(client, provider, clock):
    created = add_staff(provider, "an.admin", "admin")

    response = _login(client, "an.admin", PASSWORD, totp_code(created.totp_secret, clock.now()))

    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(cookie_name() + "=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=strict" in cookie.lower() and "Path=/" in cookie
    home = client.get("/admin/")
    assert home.status_code == 200 and "an.admin" in home.text
    assert "script-src" not in home.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]


def test_a_right_password_with_a_wrong_or_missing_code_is_refused_the_same_way(client, provider, clock):
    created = add_staff(provider, "clerk1", "clerk")
    right = totp_code(created.totp_secret, clock.now())
    wrong = "000000" if right != "000000" else "111111"

    refused = [
        _login(client, "clerk1", PASSWORD, wrong),
        _login(client, "clerk1", "not the password", right),
        _login(client, "nobody", PASSWORD, right),
    ]

    assert [r.status_code for r in refused] == [401, 401, 401]
    assert all(cookie_name() not in r.headers.get("set-cookie", "") for r in refused)


def test_a_totp_code_is_accepted_only_once(client, provider, clock):
    created = add_staff(provider, "sup1", "supervisor")
    code = totp_code(created.totp_secret, clock.now())

    first = _login(client, "sup1", PASSWORD, code)
    client.cookies.clear()
    second = _login(client, "sup1", PASSWORD, code)

    assert first.status_code == 303 and second.status_code == 401


def test_the_staff_session_ends_after_fifteen_idle_minutes(client, provider, clock):
    created = add_staff(provider, "aud1", "auditor")
    _login(client, "aud1", PASSWORD, totp_code(created.totp_secret, clock.now()))
    assert client.get("/admin/").status_code == 200

    clock.advance(15 * 60 + 1)

    assert client.get("/admin/").status_code == 303
    assert client.get("/admin/api/session").status_code == 401


def test_a_citizen_session_cookie_opens_nothing_in_the_console(client):
    client.cookies.set("__Host-idp_session", "x" * 43)

    assert client.get("/admin/citizens").headers["location"] == "/admin/login"


def test_logins_and_failures_are_in_the_audit_trail(client, provider, clock):
    created = add_staff(provider, "adm2", "admin")
    _login(client, "adm2", "wrong password!!", "123456")
    _login(client, "adm2", PASSWORD, totp_code(created.totp_secret, clock.now()))

    events = [(e.action, e.outcome) for e in audit.search(provider, audit.AuditFilter(actor="staff:adm2"))]

    assert ("staff.login", "failure") in events and ("staff.login", "success") in events
