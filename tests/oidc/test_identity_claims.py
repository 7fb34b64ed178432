"""What a portal asking `citizen_id` can rely on: a self-registered number is declared
(`citizen_id_verified: false`, no national `SoDinhDanh`); after the counter verified the identity
(clerk records, supervisor approves) it is verified — in /userinfo and in the ID token."""

from __future__ import annotations

import jwt

from postid_client import CitizenId, IdTokenClaims
from tests.admin.conftest import act_as, add_staff, log_in
from tests.helpers import Pkce, add_citizen, add_portal, exchange, login_and_consent

SCOPE = "openid profile citizen_id national_profile"


def _log_in_to_the_portal(client, provider, portal, citizen, password):
    client.cookies.clear()
    pkce = Pkce()
    code = login_and_consent(client, portal, citizen.id_number, password, pkce, scope=SCOPE)["code"]
    tokens = exchange(client, portal, code, pkce).json()
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    return userinfo, id_token


def _verify_at_the_counter(client, provider, clock, citizen):
    clerk = log_in(provider, clock, "counter.clerk", add_staff(provider, "counter.clerk", "clerk").totp_secret)
    supervisor = log_in(
        provider, clock, "desk.supervisor", add_staff(provider, "desk.supervisor", "supervisor").totp_secret
    )
    act_as(client, clerk)
    recorded = client.post(
        f"/admin/api/citizens/{citizen.id}/verifications",
        json={
            "document_type": "cccd",
            "document_number": citizen.id_number,
            "full_name": citizen.full_name,
            "birth_date": citizen.birth_date,
            "sex": citizen.sex,
            "data_matches": True,
        },
        headers={"X-CSRF-Token": clerk.csrf},
    )
    act_as(client, supervisor)
    approved = client.post(
        f"/admin/api/verifications/{recorded.json()['verification']['id']}/approve",
        headers={"X-CSRF-Token": supervisor.csrf},
    )
    assert approved.status_code == 200, approved.text


def test_a_declared_number_is_released_as_not_verified_and_never_as_sodinhdanh(client, provider):
    portal = add_portal(provider, scopes=SCOPE.split())
    citizen, password = add_citizen(provider)

    userinfo, id_token = _log_in_to_the_portal(client, provider, portal, citizen, password)

    assert userinfo["citizen_id"] == citizen.id_number and userinfo["citizen_id_verified"] is False
    assert userinfo["citizen_id_registry_checked"] is False
    assert "SoDinhDanh" not in userinfo and userinfo["HoVaTen"] == citizen.full_name
    assert id_token["citizen_id"] == citizen.id_number and id_token["citizen_id_verified"] is False


def test_a_number_verified_at_the_counter_is_released_as_verified_with_sodinhdanh(client, provider, clock):
    portal = add_portal(provider, scopes=SCOPE.split())
    citizen, password = add_citizen(provider)
    _verify_at_the_counter(client, provider, clock, citizen)

    userinfo, id_token = _log_in_to_the_portal(client, provider, portal, citizen, password)

    assert userinfo["citizen_id_verified"] is True and userinfo["SoDinhDanh"] == citizen.id_number
    assert id_token["citizen_id_verified"] is True and id_token["citizen_id"] == citizen.id_number


def test_without_the_citizen_id_scope_neither_the_number_nor_its_standing_is_released(client, provider):
    portal = add_portal(provider, scopes=["openid", "profile", "national_profile"])
    citizen, password = add_citizen(provider)
    client.cookies.clear()
    pkce = Pkce()
    code = login_and_consent(client, portal, citizen.id_number, password, pkce, scope="openid national_profile")["code"]
    tokens = exchange(client, portal, code, pkce).json()

    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})

    assert not {"citizen_id", "citizen_id_verified", "SoDinhDanh"} & (set(userinfo) | set(id_token))


def test_discovery_lists_the_standing_claims(client):
    supported = client.get("/.well-known/openid-configuration").json()["claims_supported"]

    assert {"citizen_id", "citizen_id_verified", "citizen_id_registry_checked", "SoDinhDanh"} <= set(supported)


def test_the_sdk_reads_the_standing_from_what_the_provider_releases(client, provider):
    portal = add_portal(provider, scopes=SCOPE.split())
    citizen, password = add_citizen(provider)

    userinfo, id_token = _log_in_to_the_portal(client, provider, portal, citizen, password)

    expected = CitizenId(citizen.id_number, verified=False, registry_checked=False)
    assert IdTokenClaims.from_claims(id_token).citizen_id == expected == CitizenId.from_claims(userinfo)
