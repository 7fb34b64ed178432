"""The whole authorization code flow through the HTTP layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import jwt

from tests.helpers import ISSUER, Pkce, add_citizen, add_portal, exchange, login_and_consent


def test_a_citizen_logs_in_and_the_portal_gets_signed_tokens_and_claims(provider, client):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    pkce = Pkce()

    callback = login_and_consent(client, portal, citizen.citizen_id, password, pkce, state="s1", nonce="n1")
    tokens = exchange(client, portal, callback["code"], pkce)

    assert callback["state"] == "s1" and callback["iss"] == ISSUER
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and tokens.headers["cache-control"] == "no-store"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == "n1" and id_claims["aud"] == portal.client_id and id_claims["acr"] == "LoA1"
    assert id_claims["amr"] == ["pwd"] and id_claims["sub"] == citizen.id
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json() == {"sub": citizen.id, "name": "Trần Thị Bình", "birthdate": "1990-05-01", "gender": "male",
                           "updated_at": citizen.updated_at, "phone_number": "+84912345678",
                           "phone_number_verified": True}
