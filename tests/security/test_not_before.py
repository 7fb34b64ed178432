"""Issue 13, item 7: a JWT whose `nbf` is still ahead is refused wherever the provider accepts one
(RFC 7519 §4.1.5; RFC 7523 §3 MUST reject), on the injected clock with the 60 s clock leeway.

Each forged token is otherwise valid: the same claims, signed by the right key. Request objects
(`request`) are not accepted at all and PAR carries no JWT, so they have no `nbf` to check; the
provider issues logout tokens but never accepts one.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from idp.core import dpop
from idp.crypto.jwts import TYP_ACCESS_TOKEN, TYP_ID_TOKEN, sign
from tests.helpers import (
    ISSUER,
    Pkce,
    add_citizen,
    add_portal,
    authorize_params,
    exchange,
    issued_code,
    login_and_consent,
    query_of,
)

HOUR = 3600
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _resigned(provider, token: str, typ: str, **changes) -> str:
    """`token` with `changes` to its claims, signed again by the provider's own key."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    alg = jwt.get_unverified_header(token)["alg"]
    return sign(claims, provider.keys.signer(alg), typ)


@pytest.fixture
def tokens(client, provider):
    portal = add_portal(provider, scopes=["openid", "profile", "phone"])
    citizen, _ = add_citizen(provider)
    pkce = Pkce()
    response = exchange(client, portal, issued_code(provider, portal, citizen, pkce)["code"], pkce)
    return portal, response.json()


def test_an_access_token_not_valid_for_an_hour_gets_401_at_userinfo(client, clock, provider, tokens):
    _, issued = tokens
    early = _resigned(provider, issued["access_token"], TYP_ACCESS_TOKEN, nbf=clock.now() + HOUR)

    refused = client.get("/userinfo", headers={"Authorization": f"Bearer {early}"})

    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_an_access_token_with_nbf_inside_the_leeway_still_works(client, clock, provider, tokens):
    _, issued = tokens
    skewed = _resigned(provider, issued["access_token"], TYP_ACCESS_TOKEN, nbf=clock.now() + 30)

    assert client.get("/userinfo", headers={"Authorization": f"Bearer {skewed}"}).status_code == 200


def test_an_access_token_not_valid_for_an_hour_is_inactive_at_introspection(client, clock, provider, tokens):
    portal, issued = tokens
    early = _resigned(provider, issued["access_token"], TYP_ACCESS_TOKEN, nbf=clock.now() + HOUR)

    answer = client.post("/introspect", auth=portal.basic, data={"token": early})

    assert answer.status_code == 200 and answer.json() == {"active": False}


def test_a_service_token_not_valid_for_an_hour_is_refused_by_the_admin_api(client, clock, provider):
    backend = add_portal(provider, redirect_uris=[], grant_types=["client_credentials"], scopes=["admin:citizens.read"])
    token = client.post("/token", auth=backend.basic, data={"grant_type": "client_credentials"}).json()["access_token"]
    early = _resigned(provider, token, TYP_ACCESS_TOKEN, nbf=clock.now() + HOUR)

    refused = client.get("/admin/api/citizens", headers={"Authorization": f"Bearer {early}"})

    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


def test_a_client_assertion_not_valid_for_an_hour_is_refused_with_invalid_client(client, clock, provider):
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "k1", "alg": "ES256", "use": "sig"}
    portal = add_portal(
        provider,
        auth_method="private_key_jwt",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["openid"],
        jwks={"keys": [jwk]},
    )
    now = clock.now()
    claims = {"iss": portal.client_id, "sub": portal.client_id, "aud": ISSUER, "iat": now, "exp": now + 60}

    def assertion(nbf: int) -> str:
        signed = {**claims, "jti": secrets.token_hex(8), "nbf": nbf}
        return jwt.encode(signed, private, algorithm="ES256", headers={"kid": "k1"})

    def token(value: str):
        return client.post(
            "/token",
            data={"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": value},
        )

    early, now_valid = token(assertion(now + HOUR)), token(assertion(now))

    assert early.status_code == 401 and early.json()["error"] == "invalid_client"
    assert now_valid.status_code == 200


def test_a_dpop_proof_not_valid_for_an_hour_is_refused_with_invalid_dpop_proof(client, clock, provider):
    backend = add_portal(provider, redirect_uris=[], grant_types=["client_credentials"], scopes=["api.read"])
    private = ec.generate_private_key(ec.SECP256R1())
    header = {"typ": "dpop+jwt", "jwk": ECAlgorithm.to_jwk(private.public_key(), as_dict=True)}

    def proof(**extra: int) -> str:
        claims = {
            "jti": secrets.token_hex(8),
            "htm": "POST",
            "htu": ISSUER + "/token",
            "iat": clock.now(),
            "nonce": dpop.current_nonce(provider),
            **extra,
        }
        return jwt.encode(claims, private, algorithm="ES256", headers=header)

    def token(value: str):
        return client.post(
            "/token", auth=backend.basic, data={"grant_type": "client_credentials"}, headers={"DPoP": value}
        )

    early, now_valid = token(proof(nbf=clock.now() + HOUR)), token(proof())

    assert early.status_code == 400 and early.json()["error"] == "invalid_dpop_proof"
    assert now_valid.status_code == 200 and now_valid.json()["token_type"] == "DPoP"


def test_an_id_token_hint_not_valid_for_an_hour_is_refused_at_authorize(client, clock, provider, tokens):
    portal, issued = tokens
    early = _resigned(provider, issued["id_token"], TYP_ID_TOKEN, nbf=clock.now() + HOUR)

    response = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), id_token_hint=early)))

    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_an_id_token_hint_not_valid_for_an_hour_does_not_log_out_at_once(client, clock, provider):
    portal = add_portal(provider, post_logout_redirect_uris=["https://portal.example/bye"])
    citizen, password = add_citizen(provider)
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce)
    id_token = exchange(client, portal, callback["code"], pkce).json()["id_token"]
    early = _resigned(provider, id_token, TYP_ID_TOKEN, nbf=clock.now() + HOUR)
    logout = {"post_logout_redirect_uri": "https://portal.example/bye"}

    asked = client.get("/logout?" + urlencode({**logout, "id_token_hint": early}))
    at_once = client.get("/logout?" + urlencode({**logout, "id_token_hint": id_token}))

    assert asked.status_code == 200 and 'name="csrf_token"' in asked.text  # the hint was not believed
    assert at_once.status_code == 303 and at_once.headers["location"] == "https://portal.example/bye"
