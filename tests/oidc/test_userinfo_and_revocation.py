"""/userinfo accepts only our own valid, live access tokens; /revoke ends them."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from sqlalchemy import text

from tests.helpers import Pkce, exchange, issued_code


@pytest.fixture
def tokens(client, provider, portal, citizen):
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce, scope="openid profile offline_access")["code"]
    return exchange(client, portal, code, pkce).json()


def _userinfo(client, token, method="GET"):
    return client.request(method, "/userinfo", headers={"Authorization": f"Bearer {token}"})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_userinfo_answers_get_and_post_with_claims_of_the_granted_scope(client, tokens):
    by_get, by_post = _userinfo(client, tokens["access_token"]), _userinfo(client, tokens["access_token"], "POST")

    assert by_get.status_code == by_post.status_code == 200
    assert by_get.json() == by_post.json()
    assert "name" in by_get.json() and "phone_number" not in by_get.json()


def test_userinfo_gives_the_verified_flags_as_json_booleans(client, provider, portal, citizen):
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce, scope="openid phone")["code"]
    token = exchange(client, portal, code, pkce).json()["access_token"]

    response = _userinfo(client, token)

    assert response.status_code == 200
    assert '"phone_number_verified":true' in response.text.replace(" ", "")


def test_userinfo_refuses_a_token_of_a_citizen_no_longer_active(client, provider, tokens):
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    grant = provider.store.grants.get(claims["gid"])
    assert grant is not None
    with provider.store.engine.begin() as conn:
        # The status alone, its grants left live: userinfo must read the citizen, not only the grant.
        conn.execute(text("UPDATE citizen SET status = 'locked' WHERE id = :id"), {"id": grant.citizen_id})

    response = _userinfo(client, tokens["access_token"])

    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_missing_token_gets_401_with_a_bare_bearer_challenge(client):
    response = client.get("/userinfo")

    assert response.status_code == 401
    assert (
        response.headers["www-authenticate"].startswith("Bearer")
        and "error=" not in response.headers["www-authenticate"]
    )


def test_a_tampered_token_gets_401_invalid_token(client, tokens):
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "openid profile email phone"
    forged = ".".join([header, _b64(claims), signature])

    response = _userinfo(client, forged)

    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


def test_an_unsigned_alg_none_token_gets_401(client, tokens):
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    unsigned = (
        _b64({"alg": "none", "typ": "at+jwt", "kid": jwt.get_unverified_header(tokens["access_token"])["kid"]})
        + "."
        + _b64(claims)
        + "."
    )

    assert _userinfo(client, unsigned).status_code == 401


def test_an_hmac_token_keyed_with_our_public_key_gets_401(client, provider, tokens):
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    key = provider.keys.signer("ES256")
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = _b64(header) + "." + _b64(claims)
    import hashlib
    import hmac

    secret = json.dumps(key.public_jwk).encode()
    forged = (
        signing_input
        + "."
        + base64.urlsafe_b64encode(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )

    assert _userinfo(client, forged).status_code == 401


def test_an_id_token_is_not_accepted_as_an_access_token(client, tokens):
    assert _userinfo(client, tokens["id_token"]).status_code == 401


def test_an_expired_access_token_gets_401(client, clock, provider, tokens):
    clock.advance(provider.settings.access_token_ttl + provider.settings.clock_leeway)

    response = _userinfo(client, tokens["access_token"])

    assert response.status_code == 401


def test_an_access_token_within_the_leeway_still_works(client, clock, provider, tokens):
    clock.advance(provider.settings.access_token_ttl + provider.settings.clock_leeway - 1)

    assert _userinfo(client, tokens["access_token"]).status_code == 200


def test_a_revoked_access_token_gets_401(client, portal, tokens):
    revoked = client.post(
        "/revoke", auth=portal.basic, data={"token": tokens["access_token"], "token_type_hint": "access_token"}
    )

    assert revoked.status_code == 200
    assert _userinfo(client, tokens["access_token"]).status_code == 401


def test_revoking_a_refresh_token_ends_it_and_the_access_tokens_of_its_grant(client, portal, tokens):
    client.post("/revoke", auth=portal.basic, data={"token": tokens["refresh_token"]})

    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )

    assert refreshed.json()["error"] == "invalid_grant"
    assert _userinfo(client, tokens["access_token"]).status_code == 401


def test_revoking_an_unknown_token_answers_200_and_changes_nothing(client, portal, tokens):
    response = client.post("/revoke", auth=portal.basic, data={"token": "not-a-token"})

    assert response.status_code == 200
    assert _userinfo(client, tokens["access_token"]).status_code == 200


def test_another_client_cannot_revoke_a_token_it_does_not_hold(client, provider, tokens):
    from tests.helpers import add_portal

    other = add_portal(provider)

    response = client.post("/revoke", auth=other.basic, data={"token": tokens["access_token"]})

    assert response.status_code == 200
    assert _userinfo(client, tokens["access_token"]).status_code == 200


def test_revocation_requires_client_authentication(client, portal, tokens):
    response = client.post("/revoke", auth=(portal.client_id, "wrong"), data={"token": tokens["access_token"]})

    assert response.status_code == 401


def test_revocation_proves_the_client_before_reading_the_request(client, portal):
    unauthenticated = client.post("/revoke", data={"token_type_hint": "access_token"})
    authenticated = client.post("/revoke", auth=portal.basic, data={"token_type_hint": "access_token"})

    assert unauthenticated.status_code == 401
    assert authenticated.status_code == 400 and authenticated.json()["error"] == "invalid_request"


def test_a_write_inside_a_read_only_unit_is_refused_and_nothing_is_written(client, provider, tokens):
    # Bearer userinfo runs in such a unit (on SQLite on the event loop, where a write would wait
    # for the writer lock with every other request behind it).
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})

    with pytest.raises(RuntimeError), provider.store.db.read_only_unit():
        provider.store.grants.revoke(claims["gid"], provider.clock.now())

    assert provider.store.grants.get(claims["gid"]).revoked_at is None
    assert _userinfo(client, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["!!!!", "W10", "_-8", "e30", "eyJhbGciOiJFUzI1NiJ9x", ""],
    ids=["not-base64url", "json-array", "not-utf8", "empty-object", "bad-padding", "empty"],
)
def test_a_token_whose_header_is_not_a_base64url_json_object_gets_401(client, tokens, header):
    _, payload, signature = tokens["access_token"].split(".")

    response = _userinfo(client, ".".join([header, payload, signature]))

    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]
