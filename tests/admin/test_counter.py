"""The post-office counter through the admin API: a clerk registers a citizen in person or records a
recovery, a different supervisor approves at the desk, and the citizen sets their own password from an
SMS link. Each rule has a test; every step is all or nothing."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace

import pytest

from idp.core import audit, factors
from idp.core.authn import LoginFailed, verify_password
from idp.crypto.totp import totp_code
from tests.admin.conftest import act_as
from tests.helpers import CITIZEN, Pkce, add_citizen, add_portal, exchange, issued_code, messages_to

LOGOUT_URI = "https://portal.example/backchannel-logout"
NEW_PASSWORD = "my own long counter password"
# A citizen without a smartphone, as the clerk reads her card.
CARD = {
    "citizen_id": "011303000456",
    "full_name": "Lò Thị Mai",
    "birth_date": "2003-02-14",
    "sex": "female",
    "phone": "0987 654 321",
}
PHONE = "+84987654321"


def counter_sms(provider, phone: str, at_least: int = 1) -> tuple[str, str]:
    """(the link's path, the code) of the newest counter SMS to `phone`, as the console sender wrote it."""
    path = provider.settings.data_dir / "outbox.jsonl"
    deadline = time.monotonic() + 10
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        found = [m for m in map(json.loads, lines) if m["to"] == phone and m["purpose"] == "counter"]
        if len(found) >= at_least or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(found) >= at_least, f"no counter SMS to {phone}"
    link = re.search(r"https://idp\.test(/counter/[A-Za-z0-9_-]+)", found[-1]["text"])
    assert link, found[-1]["text"]
    return link.group(1), found[-1]["code"]


def set_password(client, link: str, code: str, password: str = NEW_PASSWORD):
    client.cookies.clear()
    form = client.get(link)
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post(link, data={"csrf_token": token, "action": "set", "code": code, "password": password})


def _register(client, clerk, **changes):
    body = {**CARD, "document_type": "cccd", "document_number": CARD["citizen_id"], "data_matches": True, **changes}
    return client.post("/admin/api/counter/registrations", json=body, headers={"X-CSRF-Token": clerk.csrf})


def _approve(client, member, request_id, **body):
    return client.post(
        f"/admin/api/verifications/{request_id}/approve", json=body, headers={"X-CSRF-Token": member.csrf}
    )


def _count(provider, table: str) -> int:
    from sqlalchemy import text

    with provider.store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


# -- registration at the counter ----------------------------------------------------------------


def test_a_citizen_registered_at_the_counter_sets_their_own_password_and_a_supervisor_verifies_to_loa2(
    client, provider, staff_of
):
    clerk = act_as(client, staff_of("clerk"))

    registered = _register(client, clerk)
    body = registered.json()
    citizen_pk, request_id = body["citizen"]["id"], body["verification"]["id"]
    link, code = counter_sms(provider, PHONE)
    before = provider.store.citizens.get(citizen_pk)
    supervisor = act_as(client, staff_of("supervisor"))
    approved = _approve(client, supervisor, request_id)
    done = set_password(client, link, code)
    after = provider.store.citizens.get(citizen_pk)

    assert registered.status_code == 201, registered.text
    assert body["verification"]["kind"] == "registration" and body["verification"]["differences"] == []
    assert code not in registered.text and "password" not in registered.text  # the clerk never sees either
    assert (before.status, before.level, before.phone_verified) == ("active", "LoA1", False)
    assert approved.status_code == 200, approved.text
    assert done.status_code == 200 and "counter.done" not in done.text
    assert (after.level, after.phone_verified) == ("LoA2", True)
    assert verify_password(provider, CARD["citizen_id"], NEW_PASSWORD, "192.0.2.1").id == citizen_pk
    actions = [e.action for e in provider.store.audit.search(audit.AuditFilter(subject=f"citizen:{citizen_pk}"), 20)]
    assert {"counter.registration", "verification.record", "verification.approve", "counter.password_set"} <= set(
        actions
    )
    assert [p for p, _ in messages_to(provider, PHONE)] == ["counter", "notice"]  # the link, then "verified"


def test_before_the_citizen_sets_a_password_nobody_can_log_in(client, provider, staff_of):
    clerk = act_as(client, staff_of("clerk"))
    _register(client, clerk)

    for guess in ("", "correct horse battery staple", CARD["citizen_id"]):
        with pytest.raises(LoginFailed):
            verify_password(provider, CARD["citizen_id"], guess, "192.0.2.1")


def test_a_wrong_code_on_the_link_sets_nothing_and_a_used_link_is_gone(client, provider, staff_of):
    clerk = act_as(client, staff_of("clerk"))
    citizen_pk = _register(client, clerk).json()["citizen"]["id"]
    link, code = counter_sms(provider, PHONE)

    wrong = set_password(client, link, "000000" if code != "000000" else "111111")
    proven_after_wrong = provider.store.citizens.get(citizen_pk).phone_verified
    right = set_password(client, link, code)
    again = client.get(link)

    assert wrong.status_code == 401 and proven_after_wrong is False
    assert right.status_code == 200
    assert again.status_code == 400, again.status_code  # the flow is gone


def test_the_same_person_cannot_register_and_approve_and_a_clerk_cannot_approve(client, provider, staff_of):
    both = act_as(client, staff_of("clerk", "supervisor", username="both.roles"))
    request_id = _register(client, both).json()["verification"]["id"]

    own = _approve(client, both, request_id)
    clerk = act_as(client, staff_of("clerk"))
    by_clerk = _approve(client, clerk, request_id)

    assert own.status_code == 409 and own.json()["error"] == "decision_own"
    assert by_clerk.status_code == 403
    assert provider.store.verifications.get(request_id).status == "pending"


@pytest.mark.parametrize("role", ["supervisor", "admin", "auditor"])
def test_only_a_clerk_registers_at_the_counter(client, provider, staff_of, role):
    member = act_as(client, staff_of(role))

    refused = _register(client, member)

    assert refused.status_code == 403 and _count(provider, "citizen") == 0


def test_a_number_already_held_is_refused_at_the_counter_and_nothing_is_written(client, provider, staff_of):
    holder, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))
    outbox_before = _count(provider, "outbox")

    refused = _register(
        client,
        clerk,
        citizen_id=holder.id_number,
        document_number=holder.id_number,
        full_name=holder.full_name,
        birth_date=holder.birth_date,
        sex=holder.sex,
    )

    assert refused.status_code == 409 and refused.json()["error"] == "counter_number_taken"
    assert "dispute" in refused.json()["error_description"]
    assert _count(provider, "citizen") == 1 and _count(provider, "verification_request") == 0
    assert _count(provider, "outbox") == outbox_before


def test_a_refused_card_leaves_no_account_behind(client, provider, staff_of):
    """The account is written before the desk checks the card: the refusal must undo it."""
    clerk = act_as(client, staff_of("clerk"))

    refused = _register(client, clerk, document_number="011303999999")  # a CCCD's number is the ID number
    retried = _register(client, clerk)

    assert refused.status_code == 422 and refused.json()["error"] == "check_cccd_number"
    assert retried.status_code == 201, retried.text
    assert _count(provider, "citizen") == 1 and _count(provider, "verification_request") == 1
    assert [p for p, _ in messages_to(provider, PHONE)] == ["counter"]


# -- recovery at the counter --------------------------------------------------------------------


def _with_everything(client, provider, clock):
    """A citizen with an authenticator app, recovery codes, and a portal holding tokens."""
    citizen, password = add_citizen(provider)
    enrolment = factors.begin_totp(provider, citizen)
    clock.advance(30)
    assert factors.confirm_totp(provider, citizen.id, totp_code(enrolment.secret, clock.now())) is not None
    portal = add_portal(provider, backchannel_logout_uri=LOGOUT_URI)
    return citizen, password, portal


def _record_recovery(client, clerk, citizen, phone="0911 222 333", **changes):
    body = {
        "document_type": "cccd",
        "document_number": citizen.id_number,
        "full_name": citizen.full_name,
        "birth_date": citizen.birth_date,
        "sex": citizen.sex,
        "data_matches": True,
        "phone": phone,
        **changes,
    }
    return client.post(f"/admin/api/citizens/{citizen.id}/recoveries", json=body, headers={"X-CSRF-Token": clerk.csrf})


def _tokens(client, provider, portal, citizen):
    pkce = Pkce()
    callback = issued_code(provider, portal, citizen, pkce, scope="openid offline_access")
    return exchange(client, portal, callback["code"], pkce).json()


def test_a_recovery_binds_the_new_phone_and_removes_every_factor_session_and_grant_once_approved(
    client, provider, staff_of, clock
):
    citizen, password, portal = _with_everything(client, provider, clock)
    tokens = _tokens(client, provider, portal, citizen)
    clerk = act_as(client, staff_of("clerk"))

    recorded = _record_recovery(client, clerk, citizen)
    unchanged = provider.store.citizens.get(citizen.id)
    app_before_approval = factors.has_totp(provider, citizen.id)
    supervisor = act_as(client, staff_of("supervisor"))
    approved = _approve(client, supervisor, recorded.json()["verification"]["id"])
    after = provider.store.citizens.get(citizen.id)
    client.cookies.clear()
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    link, code = counter_sms(provider, "+84911222333")
    done = set_password(client, link, code)

    assert recorded.status_code == 201 and recorded.json()["verification"]["details"] == {"phone": "+84911222333"}
    assert unchanged.phone == citizen.phone and app_before_approval  # nothing changes before the approval
    assert approved.status_code == 200, approved.text
    assert (after.phone, after.phone_verified, after.level) == ("+84911222333", False, "LoA2")
    assert not factors.has_totp(provider, citizen.id) and provider.store.recovery_codes.remaining(citizen.id) == 0
    with pytest.raises(LoginFailed):
        verify_password(provider, citizen.id_number, password, "192.0.2.1")  # the old password is void too
    assert refreshed.json()["error"] == "invalid_grant"
    assert [p for p, _ in messages_to(provider, LOGOUT_URI)] == ["logout"]
    assert [p for p, _ in messages_to(provider, citizen.phone)] == ["notice"]  # the old phone is told
    assert [p for p, _ in messages_to(provider, "binh@example.org")] == ["notice"]
    assert done.status_code == 200
    assert verify_password(provider, citizen.id_number, NEW_PASSWORD, "192.0.2.1").phone_verified is True


def test_a_recovery_whose_new_phone_was_taken_meanwhile_changes_nothing(client, provider, staff_of, clock):
    citizen, password, _portal = _with_everything(client, provider, clock)
    clerk = act_as(client, staff_of("clerk"))
    request_id = _record_recovery(client, clerk, citizen).json()["verification"]["id"]
    add_citizen(provider, declaration=replace(CITIZEN, id_number="001090000777", phone="0911 222 333", email=None))
    outbox_before = _count(provider, "outbox")
    supervisor = act_as(client, staff_of("supervisor"))

    refused = _approve(client, supervisor, request_id)

    assert refused.status_code == 409 and refused.json()["error"] == "counter_phone_taken"
    assert provider.store.verifications.get(request_id).status == "pending"
    kept = provider.store.citizens.get(citizen.id)
    assert (kept.phone, kept.level) == (citizen.phone, "LoA1") and factors.has_totp(provider, citizen.id)
    assert verify_password(provider, citizen.id_number, password, "192.0.2.1").id == citizen.id
    assert _count(provider, "outbox") == outbox_before  # no logout token, no SMS
    last = provider.store.audit.search(audit.AuditFilter(action="verification.approve"), limit=1)[0]
    assert last.outcome == "failure" and json.loads(last.detail)["result"] == "counter_phone_taken"


def test_a_recovery_may_keep_the_same_number_on_a_new_sim_but_not_take_another_accounts(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    _other, _ = add_citizen(provider, declaration=replace(CITIZEN, id_number="001090000777", phone="0911 222 333"))
    clerk = act_as(client, staff_of("clerk"))

    taken = _record_recovery(client, clerk, citizen, phone="0911 222 333")
    same = _record_recovery(client, clerk, citizen, phone="0912 345 678")

    assert taken.status_code == 409 and taken.json()["error"] == "counter_phone_taken"
    assert same.status_code == 201, same.text


def test_only_a_clerk_records_a_recovery_and_a_service_token_never_can(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    supervisor = act_as(client, staff_of("supervisor"))

    refused = _record_recovery(client, supervisor, citizen)

    assert refused.status_code == 403 and provider.store.verifications.list(citizen_pk=citizen.id) == []


# -- the registration page's neutral line -------------------------------------------------------


def test_the_registration_pages_say_what_to_do_without_a_code_whatever_the_number(client, provider):
    holder, _ = add_citizen(provider)
    form = client.get("/register?lang=en")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    pages = []
    for number, phone in ((holder.id_number, "0933 000 111"), ("001090000777", "0933 000 222")):
        declared = {**dict(CARD, citizen_id=number, phone=phone), "full_name": "Nguyễn Văn An", "sex": "male"}
        declared["birth_date"] = "1990-01-01"
        posted = client.post(
            "/register?lang=en", data={"csrf_token": token, **declared, "password": "a long enough password here"}
        )
        assert posted.status_code == 303, posted.text
        pages.append(client.get(posted.headers["location"].replace("https://idp.test", "")).text)

    lines = [re.search(r'<p id="no-code">([^<]+)</p>', page).group(1) for page in (form.text, *pages)]
    assert len(set(lines)) == 1 and "post-office counter" in lines[0]


def test_a_counter_declaration_is_checked_offline_like_any_other(client, provider, staff_of):
    clerk = act_as(client, staff_of("clerk"))

    refused = _register(client, clerk, sex="male")  # the number says a woman born in the 2000s

    assert refused.status_code in (400, 422) and _count(provider, "citizen") == 0
