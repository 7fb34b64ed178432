"""Pushed authorization requests (RFC 9126) and DPoP-bound tokens (RFC 9449)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from idp.core import dpop
from idp.crypto.keys import thumbprint
from tests.helpers import ISSUER, Pkce, add_citizen, add_portal, authorize_params, query_of, walk_pages


def _push(client, portal, pkce, headers=None, **overrides):
    params = authorize_params(portal, pkce, **overrides)
    return client.post("/par", auth=portal.basic, data=params, headers=headers or {})


def test_a_pushed_request_is_used_by_its_request_uri_once(client, provider):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    pkce = Pkce()
    pushed = _push(client, portal, pkce, state="pushed-state")
    uri = pushed.json()["request_uri"]

    callback = walk_pages(
        client,
        "/authorize?" + urlencode({"client_id": portal.client_id, "request_uri": uri}),
        portal.redirect_uri,
        citizen.id_number,
        password,
    )
    again = client.get("/authorize?" + urlencode({"client_id": portal.client_id, "request_uri": uri}))

    assert pushed.status_code == 201 and pushed.json()["expires_in"] == 60 and uri.startswith("urn:ietf:params")
    assert query_of(callback)["state"] == "pushed-state" and "code" in query_of(callback)
    assert again.status_code == 400 and "location" not in again.headers


def test_a_request_uri_expires_after_sixty_seconds(client, clock, provider):
    portal = add_portal(provider)
    uri = _push(client, portal, Pkce()).json()["request_uri"]
    clock.advance(60)

    response = client.get("/authorize?" + urlencode({"client_id": portal.client_id, "request_uri": uri}))

    assert response.status_code == 400


def test_a_request_uri_belongs_to_the_client_that_pushed_it(client, provider):
    portal, other = add_portal(provider), add_portal(provider)
    uri = _push(client, portal, Pkce()).json()["request_uri"]

    response = client.get("/authorize?" + urlencode({"client_id": other.client_id, "request_uri": uri}))

    assert response.status_code == 400


def test_a_bad_pushed_request_is_answered_in_json_never_redirected(client, provider):
    portal = add_portal(provider)

    response = _push(client, portal, Pkce(), code_challenge_method="plain")

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "location" not in response.headers


def test_pushing_needs_client_authentication(client, provider):
    portal = add_portal(provider)

    response = client.post("/par", data=authorize_params(portal, Pkce()))

    assert response.status_code == 401


def test_a_client_that_must_push_cannot_use_a_plain_authorization_request(client, provider):
    portal = add_portal(provider, require_par=True)

    response = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce())))

    assert query_of(response.headers["location"])["error"] == "invalid_request"


class DpopKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jkt = thumbprint(self.jwk)

    def proof(
        self, method: str, url: str, now: int, nonce: str | None = None, access_token: str | None = None, **changes
    ) -> str:
        claims = {"jti": secrets.token_hex(8), "htm": method, "htu": url, "iat": now, "nonce": nonce, **changes}
        if access_token:
            claims["ath"] = (
                base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
            )
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None},
            self.private,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": self.jwk},
        )


@pytest.fixture
def key():
    return DpopKey()


def _login_code(client, provider, portal, pkce, citizen=None, **overrides):
    citizen, password = citizen or add_citizen(provider)
    url = "/authorize?" + urlencode(authorize_params(portal, pkce, scope="openid profile offline_access", **overrides))
    return query_of(walk_pages(client, url, portal.redirect_uri, citizen.id_number, password))["code"]


def _token(client, portal, code, pkce, proof):
    return client.post(
        "/token",
        auth=portal.basic,
        headers={"DPoP": proof},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
        },
    )


def test_a_token_bound_to_a_dpop_key_works_only_with_proofs_of_that_key(client, clock, provider, key):
    portal = add_portal(provider)
    pkce = Pkce()
    code = _login_code(client, provider, portal, pkce)
    nonce = dpop.current_nonce(provider)

    body = _token(client, portal, code, pkce, key.proof("POST", ISSUER + "/token", clock.now(), nonce)).json()
    at = body["access_token"]
    with_proof = client.get(
        "/userinfo",
        headers={"Authorization": f"DPoP {at}", "DPoP": key.proof("GET", ISSUER + "/userinfo", clock.now(), nonce, at)},
    )
    as_bearer = client.get("/userinfo", headers={"Authorization": f"Bearer {at}"})
    other_key = client.get(
        "/userinfo",
        headers={
            "Authorization": f"DPoP {at}",
            "DPoP": DpopKey().proof("GET", ISSUER + "/userinfo", clock.now(), nonce, at),
        },
    )

    assert body["token_type"] == "DPoP"
    assert jwt.decode(at, options={"verify_signature": False})["cnf"] == {"jkt": key.jkt}
    assert with_proof.status_code == 200
    assert as_bearer.status_code == 401 and other_key.status_code == 401


def test_a_proof_without_the_server_nonce_is_answered_with_one(client, clock, provider, key):
    portal = add_portal(provider)
    pkce = Pkce()
    code = _login_code(client, provider, portal, pkce)

    first = _token(client, portal, code, pkce, key.proof("POST", ISSUER + "/token", clock.now()))
    second = _token(
        client, portal, code, pkce, key.proof("POST", ISSUER + "/token", clock.now(), first.headers["dpop-nonce"])
    )

    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    assert second.status_code == 200


@pytest.mark.parametrize(
    "changes, method, url",
    [
        ({}, "GET", ISSUER + "/token"),
        ({}, "POST", ISSUER + "/userinfo"),
        ({}, "POST", "https://evil.example/token"),
        ({"iat": 1_800_000_000 - 600}, "POST", ISSUER + "/token"),
        ({"iat": 1_800_000_000 + 600}, "POST", ISSUER + "/token"),
    ],
)
def test_a_proof_for_another_request_or_time_is_refused(client, clock, provider, key, changes, method, url):
    portal = add_portal(provider)
    pkce = Pkce()
    code = _login_code(client, provider, portal, pkce)

    response = _token(
        client, portal, code, pkce, key.proof(method, url, clock.now(), dpop.current_nonce(provider), **changes)
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


def test_a_replayed_proof_is_refused(client, clock, provider, key):
    portal = add_portal(provider)
    proof = key.proof("POST", ISSUER + "/token", clock.now(), dpop.current_nonce(provider))
    pkce_a, pkce_b = Pkce(), Pkce()
    citizen = add_citizen(provider)
    code_a = _login_code(client, provider, portal, pkce_a, citizen)
    code_b = _login_code(client, provider, portal, pkce_b, citizen)

    first, replay = _token(client, portal, code_a, pkce_a, proof), _token(client, portal, code_b, pkce_b, proof)

    assert first.status_code == 200 and replay.json()["error"] == "invalid_dpop_proof"


def test_a_client_that_must_use_dpop_is_refused_without_a_proof(client, provider):
    portal = add_portal(provider, require_dpop=True)
    pkce = Pkce()
    code = _login_code(client, provider, portal, pkce)

    response = client.post(
        "/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
        },
    )

    assert response.json()["error"] == "invalid_dpop_proof"


def test_a_code_bound_at_authorize_needs_that_key_at_the_token_endpoint(client, clock, provider, key):
    portal = add_portal(provider)
    pkce = Pkce()
    code = _login_code(client, provider, portal, pkce, dpop_jkt=key.jkt)
    nonce = dpop.current_nonce(provider)

    stolen = _token(client, portal, code, pkce, DpopKey().proof("POST", ISSUER + "/token", clock.now(), nonce))

    assert stolen.json()["error"] == "invalid_grant"


def test_a_public_clients_refresh_token_stays_bound_to_its_key(client, clock, provider, key):
    portal = add_portal(provider, auth_method="none")
    pkce = Pkce()
    code = _login_code(client, provider, portal, pkce)
    nonce = dpop.current_nonce(provider)
    body = client.post(
        "/token",
        headers={"DPoP": key.proof("POST", ISSUER + "/token", clock.now(), nonce)},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
            "client_id": portal.client_id,
        },
    ).json()

    def refresh(proof_key):
        return client.post(
            "/token",
            headers={"DPoP": proof_key.proof("POST", ISSUER + "/token", clock.now(), nonce)},
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": portal.client_id},
        )

    thief, owner = refresh(DpopKey()), refresh(key)

    assert thief.json()["error"] == "invalid_grant" and owner.status_code == 200


def test_a_proof_at_par_binds_the_code_to_its_key(client, clock, provider, key):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    pkce = Pkce()
    nonce = dpop.current_nonce(provider)
    uri = _push(
        client, portal, pkce, headers={"DPoP": key.proof("POST", ISSUER + "/par", clock.now(), nonce)}, scope="openid"
    ).json()["request_uri"]
    callback = walk_pages(
        client,
        "/authorize?" + urlencode({"client_id": portal.client_id, "request_uri": uri}),
        portal.redirect_uri,
        citizen.id_number,
        password,
    )

    stolen = _token(
        client, portal, query_of(callback)["code"], pkce, DpopKey().proof("POST", ISSUER + "/token", clock.now(), nonce)
    )

    assert stolen.json()["error"] == "invalid_grant"
