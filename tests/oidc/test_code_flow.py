"""The whole authorization code flow through the HTTP layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import jwt

from tests.helpers import ISSUER, Pkce, add_citizen, add_portal, exchange, login_and_consent


def test_a_citizen_logs_in_and_the_portal_gets_signed_tokens_and_claims(provider, client):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    pkce = Pkce()

    callback = login_and_consent(client, portal, citizen.id_number, password, pkce, state="s1", nonce="n1")
    tokens = exchange(client, portal, callback["code"], pkce)

    assert callback["state"] == "s1" and callback["iss"] == ISSUER
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and tokens.headers["cache-control"] == "no-store"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == "n1" and id_claims["aud"] == portal.client_id and id_claims["acr"] == "LoA1"
    assert id_claims["amr"] == ["pwd"] and id_claims["sub"] not in (citizen.id, citizen.id_number)
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json() == {
        "sub": id_claims["sub"],
        "name": "Trần Thị Bình",
        "birthdate": "1990-05-01",
        "gender": "male",
        "updated_at": citizen.updated_at,
        "phone_number": "+84912345678",
        "phone_number_verified": True,
    }


def _login(client, portal, citizen, password, scope="openid"):
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce, scope=scope)
    body = exchange(client, portal, callback["code"], pkce).json()
    return jwt.decode(body["id_token"], options={"verify_signature": False}), body


def test_two_portals_see_different_stable_subjects(provider, client):
    first, second = add_portal(provider), add_portal(provider)
    citizen, password = add_citizen(provider)

    a1, _ = _login(client, first, citizen, password)
    a2, _ = _login(client, first, citizen, password)
    b, _ = _login(client, second, citizen, password)

    assert a1["sub"] == a2["sub"] != b["sub"]


def test_portals_of_one_sector_or_public_ones_share_a_subject(provider, client):
    one = add_portal(provider, sector_id="so-tai-chinh")
    two = add_portal(provider, sector_id="so-tai-chinh")
    public = add_portal(provider, subject_type="public")
    citizen, password = add_citizen(provider)

    assert _login(client, one, citizen, password)[0]["sub"] == _login(client, two, citizen, password)[0]["sub"]
    assert _login(client, public, citizen, password)[0]["sub"] == citizen.id


def test_the_citizen_id_number_needs_its_own_scope_which_portals_do_not_get_by_default(provider, client):
    ordinary = add_portal(provider)
    allowed = add_portal(provider, scopes=["openid", "citizen_id", "national_profile"])
    citizen, password = add_citizen(provider)
    from urllib.parse import urlencode

    from tests.helpers import authorize_params, query_of

    refused = client.get("/authorize?" + urlencode(authorize_params(ordinary, Pkce(), scope="openid citizen_id")))
    _, without = _login(client, allowed, citizen, password, scope="openid national_profile")
    _, with_id = _login(client, allowed, citizen, password, scope="openid national_profile citizen_id")

    assert query_of(refused.headers["location"])["error"] == "invalid_scope"
    plain = client.get("/userinfo", headers={"Authorization": f"Bearer {without['access_token']}"}).json()
    full = client.get("/userinfo", headers={"Authorization": f"Bearer {with_id['access_token']}"}).json()
    assert "SoDinhDanh" not in plain and "citizen_id" not in plain
    assert plain["HoVaTen"] == "Trần Thị Bình" and plain["NgayThangNamSinh"] == "01/05/1990"
    assert plain["GioiTinh"] == "Nam" and plain["SoDienThoai"] == "0912345678" and plain["loAs"] == ["LoA1"]
    # A self-registered number is declared: released as such, never under the national field name.
    assert full["citizen_id"] == citizen.id_number and full["citizen_id_verified"] is False
    assert "SoDinhDanh" not in full
