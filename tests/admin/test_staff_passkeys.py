"""Staff passkeys on the console, through the ASGI app: the recent-login rule, CSRF on every form,
IDP_STAFF_REQUIRE_PASSKEY, the failure budget, an administrator's removal, and the storage on both
databases. The ceremonies themselves run in Chromium (tests/e2e/test_staff_passkeys_browser.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from idp.app import create_app
from idp.core import staff_passkeys
from idp.crypto.totp import totp_code
from idp.store.staff import StaffPasskeyRecord
from tests.admin.conftest import PASSWORD, act_as, add_staff, cookie_name, csrf_in
from tests.helpers import ISSUER

STEP = "__Host-idp_console_step"  # the parked password step's cookie (the test issuer is https)


def _key(staff_id: str, credential_id: str = "Y3JlZGVudGlhbC1h", name: str = "Khóa USB") -> StaffPasskeyRecord:
    return StaffPasskeyRecord(credential_id, staff_id, b"\xa5\x01\x02", 0, ["usb"], "0" * 36, False, name, 0, None)


def _member(provider, username: str, *roles: str):
    created = add_staff(provider, username, *(roles or ("clerk",)))
    return created, provider.store.staff.find_for_login(username)[0]


def _login(client, username: str, code: str = ""):
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"csrf_token": csrf_in(page.text), "username": username, "password": PASSWORD, "code": code},
    )


def _events(provider, action: str) -> list[dict]:
    with provider.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT outcome, actor, detail FROM audit_event WHERE action = :a ORDER BY seq"), {"a": action}
        ).all()
    return [{"outcome": r.outcome, "actor": r.actor, **json.loads(r.detail)} for r in rows]


@pytest.fixture
def required(provider):
    """A console whose provider runs with IDP_STAFF_REQUIRE_PASSKEY=true, on the same database."""
    strict = replace(provider, settings=replace(provider.settings, staff_require_passkey=True))
    with TestClient(create_app(strict), base_url=ISSUER, follow_redirects=False) as test_client:
        yield test_client


# -- storage --------------------------------------------------------------------------------------


def test_a_staff_passkey_is_stored_once_listed_for_its_member_counted_forward_and_removed_by_its_member(provider):
    _, member = _member(provider, "key.holder")
    _, other = _member(provider, "other.member")
    keys = provider.store.staff.passkeys

    added = keys.add(_key(member.id))
    again = keys.add(_key(other.id))  # the same credential for someone else
    moved = keys.advance("Y3JlZGVudGlhbC1h", 0, 5, 100)
    stale = keys.advance("Y3JlZGVudGlhbC1h", 0, 6, 101)  # a racing login that saw the old counter
    not_theirs = keys.remove(other.id, "Y3JlZGVudGlhbC1h")
    listed = keys.of(member.id)
    removed = keys.remove(member.id, "Y3JlZGVudGlhbC1h")

    assert (added, again, moved, stale, not_theirs, removed) == (True, False, True, False, False, True)
    assert [(k.name, k.sign_count, k.last_used_at, k.transports) for k in listed] == [("Khóa USB", 5, 100, ["usb"])]
    assert keys.of(member.id) == [] and keys.count(member.id) == 0


# -- my passkeys: recent login, CSRF --------------------------------------------------------------


def test_the_add_form_is_offered_only_while_the_console_login_is_recent_and_runs_only_our_script(
    client, provider, clock, staff_of
):
    act_as(client, staff_of("clerk"))

    fresh = client.get("/admin/passkeys")
    clock.advance(staff_passkeys.RECENT_LOGIN + 60)
    old = client.get("/admin/passkeys")
    home = client.get("/admin/")

    assert fresh.status_code == 200 and 'data-passkey="create"' in fresh.text and "not-recent" not in fresh.text
    options = json.loads(unescape(re.search(r'data-options="([^"]+)"', fresh.text).group(1)))
    assert options["rp"]["id"] == "idp.test" and options["authenticatorSelection"]["userVerification"] == "required"
    assert "script-src 'self'" in fresh.headers["content-security-policy"]
    assert "script-src" not in home.headers["content-security-policy"]
    assert old.status_code == 200 and 'id="not-recent"' in old.text and "data-passkey" not in old.text


def test_adding_or_removing_a_passkey_with_an_old_console_login_is_refused(client, provider, clock, staff_of):
    member = act_as(client, staff_of("clerk"))
    staff_id = provider.store.staff.find_for_login("clerk")[0].id
    provider.store.staff.passkeys.add(_key(staff_id))
    clock.advance(staff_passkeys.RECENT_LOGIN + 60)

    added = client.post("/admin/passkeys", data={"csrf_token": member.csrf, "name": "x", "credential": "{}"})
    removed = client.post(
        "/admin/passkeys/remove", data={"csrf_token": member.csrf, "credential_id": "Y3JlZGVudGlhbC1h"}
    )

    assert added.status_code == 403 and removed.status_code == 403
    assert provider.store.staff.passkeys.count(staff_id) == 1


def test_a_member_removes_their_own_passkey_after_a_fresh_login_and_it_is_audited(client, provider, staff_of):
    member = act_as(client, staff_of("clerk"))
    staff_id = provider.store.staff.find_for_login("clerk")[0].id
    provider.store.staff.passkeys.add(_key(staff_id))

    listed = client.get("/admin/passkeys")
    removed = client.post(
        "/admin/passkeys/remove", data={"csrf_token": member.csrf, "credential_id": "Y3JlZGVudGlhbC1h"}
    )

    assert "Khóa USB" in listed.text
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/passkeys?notice=passkey-removed"
    assert provider.store.staff.passkeys.count(staff_id) == 0
    assert [(e["outcome"], e["actor"]) for e in _events(provider, "staff.passkey.removed")] == [
        ("success", "staff:clerk")
    ]


def test_a_forged_enrolment_is_refused_and_audited(client, provider, staff_of):
    member = act_as(client, staff_of("clerk"))

    forged = client.post(
        "/admin/passkeys", data={"csrf_token": member.csrf, "name": "Khóa", "credential": '{"id": "x"}'}
    )

    assert forged.status_code == 401
    assert [e["outcome"] for e in _events(provider, "staff.passkey.added")] == ["failure"]


def test_every_passkey_form_needs_its_csrf_token(client, provider, staff_of):
    act_as(client, staff_of("admin"))
    target = provider.store.staff.find_for_login("admin")[0]
    provider.store.staff.passkeys.add(_key(target.id))

    posts = [
        client.post("/admin/passkeys", data={"csrf_token": "forged", "name": "x", "credential": "{}"}),
        client.post("/admin/passkeys/remove", data={"csrf_token": "forged", "credential_id": "Y3JlZGVudGlhbC1h"}),
        client.post(
            f"/admin/staff/{target.id}/passkeys/remove",
            data={"csrf_token": "forged", "credential_id": "Y3JlZGVudGlhbC1h"},
        ),
    ]
    client.cookies.clear()
    client.cookies.set(STEP, "a-parked-step-value-long-enough-000")
    posts.append(client.post("/admin/passkeys/login", data={"csrf_token": "forged", "credential": "{}"}))
    posts.append(client.post("/admin/passkeys/first", data={"csrf_token": "forged", "credential": "{}"}))

    assert [p.status_code for p in posts] == [403, 403, 403, 403, 403]
    assert provider.store.staff.passkeys.count(target.id) == 1


# -- login: password, then passkey ----------------------------------------------------------------


def test_a_right_password_without_a_code_leads_a_member_with_a_passkey_to_the_passkey_step(client, provider):
    _, member = _member(provider, "key.holder")
    provider.store.staff.passkeys.add(_key(member.id))

    first = _login(client, "key.holder")
    step = client.get("/admin/passkeys/login")

    assert first.status_code == 303 and first.headers["location"] == "/admin/passkeys/login"
    assert cookie_name() + "=" not in first.headers.get("set-cookie", "").replace(STEP, "")
    options = json.loads(unescape(re.search(r'data-options="([^"]+)"', step.text).group(1)))
    assert [c["id"] for c in options["allowCredentials"]] == ["Y3JlZGVudGlhbC1h"]
    assert options["rpId"] == "idp.test" and options["userVerification"] == "required"
    assert "script-src 'self'" in step.headers["content-security-policy"]


def test_a_forged_assertion_gets_the_login_failed_answer_and_spends_the_step(client, provider):
    _, member = _member(provider, "key.holder")
    provider.store.staff.passkeys.add(_key(member.id))
    _login(client, "key.holder")
    step = client.get("/admin/passkeys/login")
    token = csrf_in(step.text)

    parked = client.cookies.get(STEP)

    forged = client.post("/admin/passkeys/login", data={"csrf_token": token, "credential": '{"id": "x"}'})
    client.cookies.set(STEP, parked)  # the browser kept the cookie: the step itself must be gone
    again = client.get("/admin/passkeys/login")

    assert forged.status_code == 401 and 'id="error"' in forged.text
    assert cookie_name() + "=" not in forged.headers.get("set-cookie", "").replace(STEP, "")
    assert again.status_code == 303 and again.headers["location"] == "/admin/login"
    assert [e.get("reason") for e in _events(provider, "staff.login")] == ["passkey:malformed"]


def test_failed_passkeys_count_toward_the_staff_failure_budget_like_bad_codes(client, provider, clock):
    created, member = _member(provider, "key.holder")
    provider.store.staff.passkeys.add(_key(member.id))

    for _ in range(10):
        _login(client, "key.holder")
        step = client.get("/admin/passkeys/login")
        client.post("/admin/passkeys/login", data={"csrf_token": csrf_in(step.text), "credential": "{}"})
    with_the_code = _login(client, "key.holder", totp_code(created.totp_secret, clock.now()))

    assert with_the_code.status_code == 401
    assert _events(provider, "staff.login")[-1]["reason"] == "too_many_failures"


def test_with_passkeys_optional_the_code_still_logs_in_a_member_who_has_one(client, provider, clock):
    created, member = _member(provider, "key.holder")
    provider.store.staff.passkeys.add(_key(member.id))

    response = _login(client, "key.holder", totp_code(created.totp_secret, clock.now()))

    assert response.status_code == 303 and response.headers["location"] == "/admin/"


# -- IDP_STAFF_REQUIRE_PASSKEY --------------------------------------------------------------------


def test_with_passkeys_required_the_code_of_a_member_who_has_one_is_refused_with_a_plain_reason(
    required, provider, clock
):
    created, member = _member(provider, "key.holder")
    provider.store.staff.passkeys.add(_key(member.id))

    response = _login(required, "key.holder", totp_code(created.totp_secret, clock.now()))

    assert response.status_code == 401 and 'id="error"' in response.text
    assert "khóa truy cập" in response.text
    assert cookie_name() + "=" not in response.headers.get("set-cookie", "").replace(STEP, "")
    assert _events(provider, "staff.login")[-1]["reason"] == "passkey_required"


def test_with_passkeys_required_the_code_of_a_member_without_one_opens_only_the_first_passkey_page(
    required, provider, clock
):
    created, _ = _member(provider, "new.clerk")

    response = _login(required, "new.clerk", totp_code(created.totp_secret, clock.now()))
    first = required.get("/admin/passkeys/first")
    home = required.get("/admin/")
    security = required.get("/admin/passkeys")

    assert response.status_code == 303 and response.headers["location"] == "/admin/passkeys/first"
    assert cookie_name() + "=" not in response.headers.get("set-cookie", "").replace(STEP, "")
    assert (
        first.status_code == 200 and 'id="first-passkey-intro"' in first.text and 'data-passkey="create"' in first.text
    )
    assert home.status_code == 303 and home.headers["location"] == "/admin/login"
    assert security.status_code == 303 and security.headers["location"] == "/admin/login"


def test_a_parked_step_expires_after_five_minutes(required, provider, clock):
    created, _ = _member(provider, "new.clerk")
    _login(required, "new.clerk", totp_code(created.totp_secret, clock.now()))

    clock.advance(staff_passkeys.PENDING_TTL + 1)
    late = required.get("/admin/passkeys/first")

    assert late.status_code == 303 and late.headers["location"] == "/admin/login"


def test_the_setting_is_documented_in_the_readme():
    readme = Path(__file__).parents[2].joinpath("README.md").read_text(encoding="utf-8")

    assert "| `IDP_STAFF_REQUIRE_PASSKEY` | `false` |" in readme


# -- an administrator removes a lost passkey ------------------------------------------------------


def test_an_administrator_removes_another_members_passkey_and_it_is_audited(client, provider, staff_of):
    admin = staff_of("admin")
    _, member = _member(provider, "lost.device")
    provider.store.staff.passkeys.add(_key(member.id))
    act_as(client, admin)

    listed = client.get("/admin/staff")
    removed = client.post(
        f"/admin/staff/{member.id}/passkeys/remove",
        data={"csrf_token": csrf_in(listed.text), "credential_id": "Y3JlZGVudGlhbC1h"},
    )

    assert "lost.device" in listed.text and "Khóa USB" in listed.text
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/staff?notice=staff-passkey-removed"
    assert provider.store.staff.passkeys.count(member.id) == 0
    assert [(e["actor"], e["name"]) for e in _events(provider, "staff.passkey.removed")] == [
        ("staff:admin", "Khóa USB")
    ]


def test_only_an_administrator_removes_another_members_passkey(client, provider, staff_of):
    _, member = _member(provider, "lost.device")
    provider.store.staff.passkeys.add(_key(member.id))
    auditor = act_as(client, staff_of("auditor"))

    listed = client.get("/admin/staff")
    by_auditor = client.post(
        f"/admin/staff/{member.id}/passkeys/remove",
        data={"csrf_token": auditor.csrf, "credential_id": "Y3JlZGVudGlhbC1h"},
    )
    clerk = act_as(client, staff_of("clerk"))
    by_clerk = client.post(
        f"/admin/staff/{member.id}/passkeys/remove",
        data={"csrf_token": clerk.csrf, "credential_id": "Y3JlZGVudGlhbC1h"},
    )

    assert listed.status_code == 200 and "passkeys/remove" not in listed.text
    assert by_auditor.status_code == 403 and by_clerk.status_code == 403
    assert provider.store.staff.passkeys.count(member.id) == 1


def test_no_service_token_scope_grants_removing_a_staff_passkey():
    from idp.core import staff

    assert "staff.passkeys.remove" not in staff.ADMIN_SCOPES
