"""The desk questions what it is given: a document number fits its type (a CCCD's is the ID number),
every difference between the document and the account is shown and needs a written reason to
approve, a citizen has one open check, and a record too old to trust expires."""

from __future__ import annotations

import json
import re

import pytest

from idp.core import audit, policy
from idp.core.accounts import CitizenDeclaration
from tests.admin.conftest import act_as
from tests.helpers import add_citizen

AS_ON_THE_CARD = {"full_name": "Trần Thị Bình", "birth_date": "1990-05-01", "sex": "male"}


def _record(client, member, citizen, **changes):
    body = {
        "document_type": "cccd",
        "document_number": citizen.id_number,
        **AS_ON_THE_CARD,
        "data_matches": True,
        **changes,
    }
    return client.post(
        f"/admin/api/citizens/{citizen.id}/verifications", json=body, headers={"X-CSRF-Token": member.csrf}
    )


def _approve(client, member, request_id, **body):
    return client.post(
        f"/admin/api/verifications/{request_id}/approve", json=body, headers={"X-CSRF-Token": member.csrf}
    )


def test_a_cccd_whose_number_is_not_the_citizen_id_number_is_refused(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))

    refused = _record(client, clerk, citizen, document_number="001090999999")

    assert refused.status_code == 422 and refused.json()["error"] == "check_cccd_number"
    assert "must equal the citizen ID number" in refused.json()["error_description"]
    assert provider.store.verifications.list(citizen_pk=citizen.id) == []


@pytest.mark.parametrize(
    "document_type, number, accepted",
    [
        ("cmnd", "012345678", True),  # the old 9-digit card
        ("cmnd", "001090000123", True),  # a 12-digit card carries the ID number itself
        ("cmnd", "001090000999", False),
        ("cmnd", "12345", False),
        ("passport", "C1234567", True),
        ("passport", "c 123 4567", True),  # typed with spaces and lower case, stored as printed
        ("passport", "1234567", False),
        ("passport", "CC123456", False),
    ],
)
def test_other_documents_follow_their_own_number_format(client, provider, staff_of, document_type, number, accepted):
    citizen, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))

    response = _record(client, clerk, citizen, document_type=document_type, document_number=number)

    assert response.status_code == (201 if accepted else 422), response.text
    if not accepted:
        assert response.json()["error"] == f"check_{document_type}_number"


def test_a_second_open_check_for_the_same_citizen_is_refused_until_the_first_is_decided(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))
    first = _record(client, clerk, citizen).json()["verification"]["id"]
    other_clerk = act_as(client, staff_of("clerk", username="second.clerk"))

    second = _record(client, other_clerk, citizen)
    supervisor = act_as(client, staff_of("supervisor"))
    client.post(
        f"/admin/api/verifications/{first}/reject",
        json={"reason": "blurred photo"},
        headers={"X-CSRF-Token": supervisor.csrf},
    )
    act_as(client, other_clerk)
    after_the_decision = _record(client, other_clerk, citizen)

    assert second.status_code == 409 and second.json()["error"] == "check_open_check"
    assert after_the_decision.status_code == 201


def test_every_difference_between_document_and_account_is_listed(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))

    recorded = _record(client, clerk, citizen, birth_date="1990-05-02", sex="female").json()["verification"]

    assert recorded["differences"] == [
        {"field": "birth_date", "document": "1990-05-02", "account": "1990-05-01"},
        {"field": "sex", "document": "female", "account": "male"},
    ]


def test_a_name_in_capitals_as_printed_on_the_card_is_no_difference_but_missing_marks_are(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    other, _ = add_citizen(provider, declaration=_other_citizen())
    clerk = act_as(client, staff_of("clerk"))

    capitals = _record(client, clerk, citizen, full_name="TRẦN THỊ BÌNH").json()["verification"]
    no_marks = _record(
        client, clerk, other, document_number=other.id_number, full_name="Le Van An", birth_date=other.birth_date
    ).json()["verification"]

    assert capitals["differences"] == []
    assert [d["field"] for d in no_marks["differences"]] == ["full_name"]


def test_a_record_with_differences_is_approved_only_with_a_written_reason_which_the_audit_keeps(
    client, provider, staff_of
):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen, birth_date="1990-05-02").json()[
        "verification"
    ]["id"]
    supervisor = act_as(client, staff_of("supervisor"))

    without = _approve(client, supervisor, request_id)
    blank = _approve(client, supervisor, request_id, reason="   ")
    level_before = provider.store.citizens.get(citizen.id).level
    with_reason = _approve(client, supervisor, request_id, reason="the account's birth day was mistyped; card seen")

    assert without.status_code == blank.status_code == 409 and without.json()["error"] == "decision_differences"
    assert level_before == "LoA1"
    assert with_reason.status_code == 200 and provider.store.citizens.get(citizen.id).level == "LoA2"
    assert with_reason.json()["verification"]["decision_reason"] == "the account's birth day was mistyped; card seen"
    events = provider.store.audit.search(audit.AuditFilter(action="verification.approve"), limit=5)
    details = [json.loads(e.detail) for e in events]
    assert details[0]["result"] == "approved" and details[0]["differences"] == ["birth_date"]
    assert details[0]["reason"] == "the account's birth day was mistyped; card seen"
    assert [d["result"] for d in details[1:]] == ["differences", "differences"]


def test_a_record_older_than_the_desk_allows_expires_and_cannot_be_approved(client, provider, staff_of, clock):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen).json()["verification"]["id"]
    clock.advance(policy.VERIFICATION_RECORD_MAX_AGE + 1)
    supervisor = act_as(client, staff_of("supervisor"))  # logs in after the week went by

    refused = _approve(client, supervisor, request_id)
    waiting = client.get("/admin/api/verifications").json()["verifications"]

    assert refused.status_code == 409 and refused.json()["error"] == "decision_expired"
    assert provider.store.verifications.get(request_id).status == "expired"
    assert provider.store.citizens.get(citizen.id).level == "LoA1" and waiting == []


def test_an_expired_record_no_longer_holds_the_citizens_one_open_check(client, provider, staff_of, clock):
    citizen, _ = add_citizen(provider)
    first = _record(client, act_as(client, staff_of("clerk")), citizen).json()["verification"]["id"]
    clock.advance(policy.VERIFICATION_RECORD_MAX_AGE + 1)
    clerk = act_as(client, staff_of("clerk", username="clerk.next.week"))

    again = _record(client, clerk, citizen)

    assert again.status_code == 201
    assert provider.store.verifications.get(first).status == "expired"


def test_a_record_just_inside_the_age_limit_is_still_approved(client, provider, staff_of, clock):
    citizen, _ = add_citizen(provider)
    request_id = _record(client, act_as(client, staff_of("clerk")), citizen).json()["verification"]["id"]
    clock.advance(policy.VERIFICATION_RECORD_MAX_AGE - 60)
    supervisor = act_as(client, staff_of("supervisor"))

    approved = _approve(client, supervisor, request_id)

    assert approved.status_code == 200 and provider.store.citizens.get(citizen.id).level == "LoA2"


def test_a_clerk_cannot_approve_and_a_supervisor_cannot_approve_their_own_record(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))
    request_id = _record(client, clerk, citizen).json()["verification"]["id"]

    by_the_clerk = _approve(client, clerk, request_id)
    other, _ = add_citizen(provider, declaration=_other_citizen())
    both = act_as(client, staff_of("clerk", "supervisor", username="two.hats"))
    own_id = _record(
        client, both, other, document_number=other.id_number, full_name=other.full_name, birth_date=other.birth_date
    ).json()["verification"]["id"]
    by_the_recorder = _approve(client, both, own_id)

    assert by_the_clerk.status_code == 403
    assert by_the_recorder.status_code == 409 and by_the_recorder.json()["error"] == "decision_own"
    assert provider.store.citizens.get(citizen.id).level == provider.store.citizens.get(other.id).level == "LoA1"


def test_the_desk_page_highlights_each_difference_and_asks_for_a_reason(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    _record(client, act_as(client, staff_of("clerk")), citizen, birth_date="1990-05-02")
    act_as(client, staff_of("supervisor"))

    page = client.get("/admin/desk").text

    rows = re.findall(r'<tr class="(difference|same)" data-field="([a-z_]+)"', page)
    assert sorted(rows) == [("difference", "birth_date"), ("same", "full_name"), ("same", "sex")]
    assert "<mark>1990-05-02</mark>" in page and "<mark>1990-05-01</mark>" in page
    assert 'class="approve-reason"' in page and "chỉ duyệt khi ghi rõ lý do" in page


def _other_citizen() -> CitizenDeclaration:
    return CitizenDeclaration(
        id_number="079095001234",
        full_name="Lê Văn An",
        birth_date="1995-02-03",
        sex="male",
        phone="0912 000 111",
    )
