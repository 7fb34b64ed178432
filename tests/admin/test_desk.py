"""Maker–checker: a clerk records an in-person check, a different supervisor approves → LoA2."""

from __future__ import annotations

import threading

from sqlalchemy import text

from idp.core import staff, verification
from tests.admin.conftest import act_as
from tests.helpers import add_citizen

# What the clerk reads on the test citizen's CCCD (tests.helpers.CITIZEN).
AS_ON_THE_CARD = {"full_name": "Trần Thị Bình", "birth_date": "1990-05-01", "sex": "male"}


def _record(client, member, citizen_pk):
    response = client.post(
        f"/admin/api/citizens/{citizen_pk}/verifications",
        json={
            "document_type": "cccd",
            "document_number": "001090000123",
            **AS_ON_THE_CARD,
            "data_matches": True,
            "note": "seen at the Hoàn Kiếm counter",
        },
        headers={"X-CSRF-Token": member.csrf},
    )
    assert response.status_code == 201, response.text
    return response.json()["verification"]["id"]


def test_a_clerk_records_and_a_supervisor_approves_so_the_account_reaches_loa2(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen.id)
    supervisor = act_as(client, staff_of("supervisor"))

    pending = client.get("/admin/api/verifications").json()["verifications"]
    approved = client.post(f"/admin/api/verifications/{request_id}/approve", headers={"X-CSRF-Token": supervisor.csrf})

    assert [v["id"] for v in pending] == [request_id]
    assert approved.status_code == 200 and approved.json()["verification"]["status"] == "approved"
    assert provider.store.citizens.get(citizen.id).level == "LoA2"


def test_a_record_keeps_the_id_number_under_citizen_id_as_records_stored_before_the_rename(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen.id)
    act_as(client, staff_of("supervisor"))

    stored = provider.store.verifications.get(request_id)
    desk = client.get("/admin/desk")

    assert stored.identity["citizen_id"] == citizen.id_number
    assert stored.identity_digest == verification.identity_digest(verification.identity_of(citizen))
    assert f"({citizen.id_number})" in desk.text


def test_nobody_approves_a_check_they_recorded_themselves(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    both = act_as(client, staff_of("clerk", "supervisor", username="wears.two.hats"))
    request_id = _record(client, both, citizen.id)

    refused = client.post(f"/admin/api/verifications/{request_id}/approve", headers={"X-CSRF-Token": both.csrf})

    assert refused.status_code == 409 and refused.json()["error"] == "decision_own"
    assert provider.store.citizens.get(citizen.id).level == "LoA1"


def test_a_change_to_the_account_between_record_and_approval_voids_the_record(client, provider, staff_of, clock):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen.id)
    provider.store.citizens.set_phone(citizen.id, "+84987000111", clock.now())
    supervisor = act_as(client, staff_of("supervisor"))

    refused = client.post(f"/admin/api/verifications/{request_id}/approve", headers={"X-CSRF-Token": supervisor.csrf})

    assert refused.status_code == 409 and refused.json()["error"] == "decision_stale"
    assert provider.store.verifications.get(request_id).status == "void"
    assert provider.store.citizens.get(citizen.id).level == "LoA1"


def test_the_store_refuses_a_stale_approval_even_when_the_change_lands_after_the_core_check(provider, staff_of, clock):
    citizen, _ = add_citizen(provider)
    clerk, supervisor = staff_of("clerk"), staff_of("supervisor")
    record = verification.record_check(
        provider,
        staff.current(provider, clerk.cookie),
        citizen.id,
        document_type="cccd",
        document_number=citizen.id_number,
        **AS_ON_THE_CARD,
        data_matches=True,
    )
    with provider.store.engine.begin() as conn:  # the name is corrected behind the desk's back
        conn.execute(text("UPDATE citizen SET full_name = 'Trần Thị Bính' WHERE id = :id"), {"id": citizen.id})

    outcome = provider.store.verifications.approve(
        record.id,
        staff.current(provider, supervisor.cookie).staff.id,
        clock.now(),
        raise_to="LoA2",
        recorded_after=record.recorded_at,
    )

    assert outcome == "stale" and provider.store.citizens.get(citizen.id).level == "LoA1"


def test_two_supervisors_approving_at_once_have_exactly_one_winner(provider, staff_of):
    citizen, _ = add_citizen(provider)
    clerk = staff.current(provider, staff_of("clerk").cookie)
    record = verification.record_check(
        provider,
        clerk,
        citizen.id,
        document_type="cccd",
        document_number=citizen.id_number,
        **AS_ON_THE_CARD,
        data_matches=True,
    )
    deciders = [staff.current(provider, staff_of("supervisor", username=f"sup{i}").cookie) for i in range(4)]
    barrier = threading.Barrier(len(deciders))
    results: list[str] = []

    def approve(console):
        barrier.wait()
        try:
            verification.approve(provider, console, record.id)
            results.append("approved")
        except verification.DecisionRefused as exc:
            results.append(exc.reason)

    threads = [threading.Thread(target=approve, args=(c,)) for c in deciders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == ["approved", "gone", "gone", "gone"]
    assert provider.store.verifications.get(record.id).decided_by in {c.staff.id for c in deciders}


def test_a_rejection_records_why_and_leaves_the_level(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen.id)
    supervisor = act_as(client, staff_of("supervisor"))

    page = client.post(
        f"/admin/desk/{request_id}",
        data={"csrf_token": supervisor.csrf, "decision": "reject", "reason": "photo does not match"},
    )

    assert page.status_code == 303
    record = provider.store.verifications.get(request_id)
    assert record.status == "rejected" and record.decision_reason == "photo does not match"
    assert provider.store.citizens.get(citizen.id).level == "LoA1"


def test_the_level_cannot_be_set_through_a_generic_update(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("admin"))

    client.post(
        f"/admin/api/citizens/{citizen.id}/unlock",
        json={"reason": "x", "level": "LoA2", "status": "active"},
        headers={"X-CSRF-Token": member.csrf},
    )

    assert provider.store.citizens.get(citizen.id).level == "LoA1"
