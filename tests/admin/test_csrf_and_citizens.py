"""CSRF on every console write; citizen search, detail, lock/unlock, authenticator reset, sessions."""

from __future__ import annotations

from idp.core import factors, sessions
from tests.admin.conftest import act_as
from tests.helpers import CITIZEN, add_citizen, messages_to


def test_a_console_form_without_the_session_csrf_token_changes_nothing(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    act_as(client, staff_of("admin"))

    missing = client.post(f"/admin/citizens/{citizen.id}/lock", data={"reason": "fraud report"})
    forged = client.post(f"/admin/citizens/{citizen.id}/lock", data={"reason": "fraud report", "csrf_token": "x" * 43})

    assert missing.status_code == 403 and forged.status_code == 403
    assert provider.store.citizens.get(citizen.id).status == "active"


def test_an_api_write_without_the_csrf_header_changes_nothing(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("admin"))

    refused = client.post(f"/admin/api/citizens/{citizen.id}/lock", json={"reason": "fraud"})
    done = client.post(
        f"/admin/api/citizens/{citizen.id}/lock", json={"reason": "fraud"}, headers={"X-CSRF-Token": member.csrf}
    )

    assert refused.status_code == 403 and done.status_code == 200
    assert done.json()["citizen"]["status"] == "locked"


def test_citizens_are_found_by_id_number_phone_and_name_without_diacritics(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    act_as(client, staff_of("clerk"))

    by_id = client.get("/admin/api/citizens", params={"q": CITIZEN.id_number}).json()
    by_phone = client.get("/admin/api/citizens", params={"q": "0912345678"}).json()
    by_name = client.get("/admin/api/citizens", params={"q": "tran thi binh"}).json()
    nothing = client.get("/admin/api/citizens", params={"q": "nguyen"}).json()

    assert [c["id"] for c in by_id["citizens"]] == [citizen.id]
    assert [c["id"] for c in by_phone["citizens"]] == [citizen.id]
    assert [c["id"] for c in by_name["citizens"]] == [citizen.id]
    assert nothing["total"] == 0


def test_the_console_shows_the_id_number_and_the_api_answers_it_as_citizen_id(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    act_as(client, staff_of("clerk"))

    listed = client.get("/admin/citizens", params={"q": citizen.id_number})
    detail = client.get(f"/admin/citizens/{citizen.id}")
    found = client.get("/admin/api/citizens", params={"q": citizen.id_number}).json()

    assert f'data-label="Số định danh">{citizen.id_number}</td>' in listed.text
    assert f"<dd>{citizen.id_number}</dd>" in detail.text
    assert found["citizens"][0]["citizen_id"] == citizen.id_number


def test_the_detail_shows_factors_but_never_secrets(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    factors.begin_totp(provider, citizen)
    act_as(client, staff_of("auditor"))

    page = client.get(f"/admin/citizens/{citizen.id}")
    detail = client.get(f"/admin/api/citizens/{citizen.id}").json()

    assert page.status_code == 200 and citizen.full_name in page.text
    assert "secret" not in str(detail).lower() and "password" not in str(detail).lower()
    assert detail["citizen"]["level"] == "LoA1"


def test_lock_ends_sessions_unlock_restores_and_both_need_a_reason(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    live = sessions.start(provider, citizen.id, amr=["pwd"], acr="LoA1")
    member = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": member.csrf}

    no_reason = client.post(f"/admin/api/citizens/{citizen.id}/lock", json={}, headers=headers)
    locked = client.post(f"/admin/api/citizens/{citizen.id}/lock", json={"reason": "stolen phone"}, headers=headers)
    session_after_lock = sessions.current(provider, live.cookie_value)
    unlocked = client.post(
        f"/admin/api/citizens/{citizen.id}/unlock", json={"reason": "owner came in"}, headers=headers
    )

    assert no_reason.status_code == 400
    assert locked.json()["citizen"]["status"] == "locked" and session_after_lock is None
    assert unlocked.json()["citizen"]["status"] == "active"


def test_resetting_the_authenticator_removes_it_and_tells_the_citizen_by_sms(client, provider, staff_of, clock):
    from idp.crypto.totp import totp_code

    citizen, _ = add_citizen(provider)
    enrolment = factors.begin_totp(provider, citizen)
    factors.confirm_totp(provider, citizen.id, totp_code(enrolment.secret, clock.now()))
    member = act_as(client, staff_of("admin"))

    response = client.post(
        f"/admin/citizens/{citizen.id}/reset-authenticator",
        data={"csrf_token": member.csrf, "reason": "lost phone, ID checked"},
    )

    assert response.status_code == 303
    assert not factors.has_totp(provider, citizen.id)
    assert provider.store.recovery_codes.remaining(citizen.id) == 0
    assert any(purpose == "notice" for purpose, _ in messages_to(provider, citizen.phone))


def test_end_all_sessions(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    live = sessions.start(provider, citizen.id, amr=["pwd"], acr="LoA1")
    member = act_as(client, staff_of("admin"))

    client.post(f"/admin/citizens/{citizen.id}/end-sessions", data={"csrf_token": member.csrf})

    assert sessions.current(provider, live.cookie_value) is None
