"""/token: codes are single-use and bound to client, redirect URI and PKCE verifier; refresh rotates."""

from __future__ import annotations

import base64

import jwt
import pytest

from idp.crypto.jwts import token_hash
from tests.helpers import Pkce, add_portal, exchange, issued_code


@pytest.fixture
def logged_in(provider, portal, citizen):
    record, _ = citizen
    pkce = Pkce()
    callback = issued_code(provider, portal, record, pkce, scope="openid profile offline_access")
    return callback["code"], pkce


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_replayed_code_is_refused_and_revokes_the_tokens_issued_from_it(client, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()

    replay = exchange(client, portal, code, pkce)

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert client.get("/userinfo", headers=_bearer(first["access_token"])).status_code == 401
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_code_presented_by_another_client_is_refused_and_stays_usable_by_its_own(client, provider, portal, logged_in):
    code, pkce = logged_in
    other = add_portal(provider)

    stolen = exchange(client, other, code, pkce)
    own = exchange(client, portal, code, pkce)

    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert own.status_code == 200


def test_a_wrong_code_verifier_is_refused(client, portal, logged_in):
    code, _ = logged_in

    response = exchange(client, portal, code, Pkce())

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_code_refused_for_its_verifier_is_spent_and_the_right_verifier_after_it_is_refused(client, portal, logged_in):
    code, pkce = logged_in

    wrong = exchange(client, portal, code, Pkce())
    right = exchange(client, portal, code, pkce)

    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 400 and right.json()["error"] == "invalid_grant"


def test_a_missing_code_verifier_is_refused(client, portal, logged_in):
    code, _ = logged_in

    response = client.post(
        "/token",
        auth=portal.basic,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": portal.redirect_uri},
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_plain_challenge_itself_is_not_accepted_as_verifier(client, portal, logged_in):
    code, pkce = logged_in

    response = client.post(
        "/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.challenge,
        },
    )

    assert response.json()["error"] == "invalid_grant"


def test_a_redirect_uri_different_from_the_authorization_request_is_refused(client, portal, logged_in):
    code, pkce = logged_in

    response = client.post(
        "/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri + "/x",
            "code_verifier": pkce.verifier,
        },
    )

    assert response.json()["error"] == "invalid_grant"


def test_a_code_older_than_sixty_seconds_is_refused(client, clock, portal, logged_in):
    code, pkce = logged_in
    clock.advance(61)

    response = exchange(client, portal, code, pkce)

    assert response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_gets_401_invalid_client_with_www_authenticate(client, portal, logged_in):
    code, pkce = logged_in

    response = client.post(
        "/token",
        auth=(portal.client_id, "wrong"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
        },
    )

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_a_confidential_client_cannot_authenticate_as_public(client, portal, logged_in):
    code, pkce = logged_in

    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
            "client_id": portal.client_id,
        },
    )

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_client_must_use_the_method_it_registered(client, portal, logged_in):
    code, pkce = logged_in

    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
            "client_id": portal.client_id,
            "client_secret": portal.secret,
        },
    )

    assert response.status_code == 401


def test_two_authentication_methods_at_once_are_refused(client, portal, logged_in):
    code, pkce = logged_in

    response = client.post(
        "/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
            "client_secret": portal.secret,
        },
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_basic_credentials_are_form_urlencoded_before_base64(client, provider, citizen):
    portal = add_portal(provider)
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce)["code"]
    raw = base64.b64encode(f"{portal.client_id}:{portal.secret}".replace("-", "%2D").encode()).decode()

    response = client.post(
        "/token",
        headers={"Authorization": f"Basic {raw}"},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
        },
    )

    assert response.status_code == 200, response.text


def test_client_secret_post_works_for_a_client_registered_with_it(client, provider, citizen):
    portal = add_portal(provider, auth_method="client_secret_post")
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce)["code"]

    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
            "client_id": portal.client_id,
            "client_secret": portal.secret,
        },
    )

    assert response.status_code == 200


def test_a_public_client_exchanges_with_client_id_and_pkce_only(client, provider, citizen):
    portal = add_portal(provider, auth_method="none")
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce)["code"]

    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
            "client_id": portal.client_id,
        },
    )

    assert response.status_code == 200 and "id_token" in response.json()


def test_the_id_token_carries_at_hash_sid_azp_and_auth_time(client, provider, portal, logged_in):
    code, pkce = logged_in

    body = exchange(client, portal, code, pkce).json()

    header = jwt.get_unverified_header(body["id_token"])
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["kid"] == provider.keys.signer("ES256").kid
    assert claims["at_hash"] == token_hash(body["access_token"], "ES256")
    assert claims["azp"] == portal.client_id and claims["sid"] and claims["auth_time"] <= claims["iat"]


def test_a_client_registered_for_rs256_gets_rs256_id_tokens(client, provider, citizen):
    portal = add_portal(provider, id_token_alg="RS256")
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce)["code"]

    body = exchange(client, portal, code, pkce).json()

    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"


def test_no_refresh_token_without_offline_access(client, provider, portal, citizen):
    record, _ = citizen
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce, scope="openid")["code"]

    body = exchange(client, portal, code, pkce).json()

    assert "refresh_token" not in body


def test_a_refresh_rotates_the_token_and_a_reused_one_revokes_the_grant(client, clock, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()

    second = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    ).json()
    clock.advance(11)  # past the grace window
    reuse = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )

    assert second["refresh_token"] != first["refresh_token"] and "id_token" in second
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    after = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert after.json()["error"] == "invalid_grant"
    assert client.get("/userinfo", headers=_bearer(second["access_token"])).status_code == 401


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(client, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()

    narrowed = client.post(
        "/token",
        auth=portal.basic,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "openid"},
    ).json()
    widened = client.post(
        "/token",
        auth=portal.basic,
        data={"grant_type": "refresh_token", "refresh_token": narrowed["refresh_token"], "scope": "openid email"},
    )

    assert narrowed["scope"] == "openid"
    assert widened.json()["error"] == "invalid_scope"


def test_a_refused_widening_leaves_the_refresh_token_as_it_was(client, clock, portal, logged_in):
    """The scope is checked before the rotation: a refused request spends nothing, so the token
    still works after the lost-answer grace window."""
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()

    widened = client.post(
        "/token",
        auth=portal.basic,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "openid email"},
    )
    clock.advance(60)
    later = _refresh(client, portal, first["refresh_token"])

    assert widened.json()["error"] == "invalid_scope"
    assert later.status_code == 200 and later.json()["refresh_token"] != first["refresh_token"]


def test_a_refresh_token_belongs_to_its_client(client, provider, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()
    other = add_portal(provider)

    response = client.post(
        "/token", auth=other.basic, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )

    assert response.json()["error"] == "invalid_grant"
    still = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert still.status_code == 200


def test_a_refresh_token_dies_with_its_absolute_lifetime(client, clock, provider, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()
    clock.advance(provider.settings.refresh_token_ttl + 1)

    response = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )

    assert response.json()["error"] == "invalid_grant"


def test_an_unknown_grant_type_is_refused(client, portal):
    response = client.post("/token", auth=portal.basic, data={"grant_type": "password", "username": "x"})

    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_an_unknown_client_gets_401(client):
    response = client.post("/token", auth=("nobody", "x"), data={"grant_type": "authorization_code", "code": "x"})

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def _refresh(client, portal, token):
    return client.post("/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": token})


def test_a_client_that_lost_the_answer_may_retry_once_within_ten_seconds(client, clock, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()
    lost = _refresh(client, portal, first["refresh_token"]).json()
    clock.advance(5)

    retried = _refresh(client, portal, first["refresh_token"])

    assert retried.status_code == 200
    assert _refresh(client, portal, lost["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_second_retry_inside_the_grace_window_revokes_the_grant(client, clock, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()
    _refresh(client, portal, first["refresh_token"])
    retried = _refresh(client, portal, first["refresh_token"]).json()

    again = _refresh(client, portal, first["refresh_token"])

    assert again.json()["error"] == "invalid_grant"
    assert _refresh(client, portal, retried["refresh_token"]).json()["error"] == "invalid_grant"


def test_only_the_immediately_previous_token_gets_the_grace(client, clock, portal, logged_in):
    code, pkce = logged_in
    first = exchange(client, portal, code, pkce).json()
    second = _refresh(client, portal, first["refresh_token"]).json()
    _refresh(client, portal, second["refresh_token"])

    response = _refresh(client, portal, first["refresh_token"])

    assert response.json()["error"] == "invalid_grant"
