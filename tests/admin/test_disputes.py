"""Disputes at the counter through the admin API: a citizen proves with the card that a number another
account holds is theirs; once a different supervisor approves, the holder is frozen and logged out of
every portal, and the owner holds the number, verified, in a new or their existing account."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from idp.core import audit
from idp.core.authn import LoginFailed, verify_password
from idp.core.scopes import claims_for
from tests.admin.conftest import act_as
from tests.admin.test_counter import NEW_PASSWORD, counter_sms, set_password
from tests.helpers import CITIZEN, Pkce, add_citizen, add_portal, exchange, issued_code, messages_to

LOGOUT_URI = "https://portal.example/backchannel-logout"
NUMBER = CITIZEN.id_number  # 001090000123: a man born in 1990, in Hà Nội
OWNER_CARD = {"full_name": "Nguyễn Văn Thật", "birth_date": "1990-07-07", "sex": "male"}
OWNER_PHONE = "+84933444555"


def _squatted(client, provider):
    """The squatter registered the owner's number with their own phone and holds tokens at a portal."""
    squatter, password = add_citizen(provider)
    portal = add_portal(
        provider,
        backchannel_logout_uri=LOGOUT_URI,
        scopes=["openid", "profile", "offline_access", "citizen_id", "national_profile"],
    )
    pkce = Pkce()
    callback = issued_code(provider, portal, squatter, pkce, scope="openid offline_access citizen_id")
    return squatter, password, portal, exchange(client, portal, callback["code"], pkce).json()


def _record(client, clerk, **changes):
    body = {
        "citizen_id": NUMBER,
        "document_type": "cccd",
        "document_number": NUMBER,
        **OWNER_CARD,
        "data_matches": True,
        "note": "the owner's chip card read at the counter; the account's phone is not theirs",
        "phone": "0933 444 555",
        **changes,
    }
    return client.post("/admin/api/disputes", json=body, headers={"X-CSRF-Token": clerk.csrf})


def _approve(client, member, request_id, **body):
    return client.post(
        f"/admin/api/verifications/{request_id}/approve", json=body, headers={"X-CSRF-Token": member.csrf}
    )


def test_an_approved_dispute_freezes_the_holder_and_gives_the_owner_the_number_verified(client, provider, staff_of):
    squatter, squatter_password, portal, tokens = _squatted(client, provider)
    clerk = act_as(client, staff_of("clerk"))

    recorded = _record(client, clerk)
    supervisor = act_as(client, staff_of("supervisor"))
    approved = _approve(client, supervisor, recorded.json()["verification"]["id"])
    client.cookies.clear()
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    link, code = counter_sms(provider, OWNER_PHONE)
    done = set_password(client, link, code)
    holder = provider.store.citizens.get(squatter.id)
    owner = verify_password(provider, NUMBER, NEW_PASSWORD, "192.0.2.1")

    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["verification"]["differences"] == []  # the card is not the holder's: no "difference"
    assert approved.status_code == 200, approved.text
    assert holder.status == "frozen" and holder.id_number.startswith("D") and holder.level == "LoA1"
    assert NUMBER not in json.dumps(claims_for(holder, {"citizen_id", "national_profile"}))  # never released again
    with pytest.raises(LoginFailed):
        verify_password(provider, squatter.phone, squatter_password, "192.0.2.1")
    assert refreshed.json()["error"] == "invalid_grant" and userinfo.status_code == 401
    assert [p for p, _ in messages_to(provider, LOGOUT_URI)] == ["logout"]
    assert [p for p, _ in messages_to(provider, squatter.phone)] == ["notice"]
    assert done.status_code == 200
    assert (owner.full_name, owner.level, owner.phone) == ("Nguyễn Văn Thật", "LoA2", OWNER_PHONE)
    claims = claims_for(owner, {"citizen_id", "national_profile"})
    assert claims["citizen_id"] == NUMBER and claims["citizen_id_verified"] is True and claims["SoDinhDanh"] == NUMBER


def test_both_steps_of_a_dispute_are_audited_with_who_recorded_who_approved_and_why(client, provider, staff_of):
    squatter, _, _, _ = _squatted(client, provider)
    request_id = _record(client, act_as(client, staff_of("clerk"))).json()["verification"]["id"]

    _approve(client, act_as(client, staff_of("supervisor")), request_id, reason="card checked twice")

    frozen = provider.store.audit.search(audit.AuditFilter(action="dispute.holder_frozen"), limit=1)[0]
    bound = provider.store.audit.search(audit.AuditFilter(action="dispute.owner_bound"), limit=1)[0]
    assert frozen.subject == f"citizen:{squatter.id}" and frozen.actor == "staff:supervisor"
    for event in (frozen, bound):
        detail = json.loads(event.detail)
        assert detail["recorded_by"] == "staff:clerk" and detail["approved_by"] == "staff:supervisor"
        assert detail["why"].startswith("the owner's chip card") and detail["reason"] == "card checked twice"
    assert json.loads(bound.detail)["account"] == "new"


def test_an_owners_existing_account_is_rebound_to_the_number(client, provider, staff_of):
    squatter, _, _, _ = _squatted(client, provider)
    typo = replace(CITIZEN, id_number="001090000124", full_name="Nguyen Van That", phone="0933 444 555", email=None)
    existing, password = add_citizen(provider, declaration=typo)
    clerk = act_as(client, staff_of("clerk"))

    request_id = _record(client, clerk, owner=existing.id, phone="").json()["verification"]["id"]
    approved = _approve(client, act_as(client, staff_of("supervisor")), request_id)
    owner = provider.store.citizens.get(existing.id)

    assert approved.status_code == 200, approved.text
    assert (owner.id_number, owner.full_name, owner.level) == (NUMBER, "Nguyễn Văn Thật", "LoA2")
    assert verify_password(provider, NUMBER, password, "192.0.2.1").id == existing.id  # same account, same password
    assert provider.store.citizens.get(squatter.id).status == "frozen"


def test_a_dispute_whose_new_account_cannot_be_made_freezes_nobody(client, provider, staff_of):
    squatter, squatter_password, _, _ = _squatted(client, provider)
    request_id = _record(client, act_as(client, staff_of("clerk"))).json()["verification"]["id"]
    add_citizen(provider, declaration=replace(CITIZEN, id_number="001090000777", phone="0933 444 555", email=None))

    refused = _approve(client, act_as(client, staff_of("supervisor")), request_id)

    assert refused.status_code == 409 and refused.json()["error"] == "counter_phone_taken"
    holder = provider.store.citizens.get(squatter.id)
    assert (holder.status, holder.id_number) == ("active", NUMBER)
    assert verify_password(provider, NUMBER, squatter_password, "192.0.2.1").id == squatter.id
    assert messages_to(provider, LOGOUT_URI) == [] and provider.store.verifications.get(request_id).status == "pending"


def test_a_clerk_cannot_approve_a_dispute_nor_the_person_who_recorded_it(client, provider, staff_of):
    _squatted(client, provider)
    both = act_as(client, staff_of("clerk", "supervisor", username="both.roles"))
    request_id = _record(client, both).json()["verification"]["id"]

    own = _approve(client, both, request_id)
    by_clerk = _approve(client, act_as(client, staff_of("clerk")), request_id)
    by_supervisor_recording = _record(client, act_as(client, staff_of("supervisor")))

    assert own.status_code == 409 and own.json()["error"] == "decision_own"
    assert by_clerk.status_code == 403 and by_supervisor_recording.status_code == 403


def test_a_dispute_needs_a_holder_and_a_written_why(client, provider, staff_of):
    clerk = act_as(client, staff_of("clerk"))

    nobody = _record(client, clerk)
    add_citizen(provider)
    no_why = _record(client, clerk, note="  ")

    assert nobody.status_code == 409 and nobody.json()["error"] == "dispute_no_holder"
    assert no_why.status_code == 400 and provider.store.verifications.list() == []
