"""A third-party relying party (Authlib) logs a citizen in against the real server and checks
everything itself: the ID token against the JWKS, userinfo, refresh, revocation."""

from __future__ import annotations

import secrets

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken

from tests.helpers import walk_pages

pytestmark = pytest.mark.e2e


def _validate_id_token(id_token: str, jwks: dict, issuer: str, client_id: str, nonce: str, access_token: str) -> dict:
    claims = JsonWebToken(["ES256", "RS256"]).decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate()
    return dict(claims)


def test_authlib_logs_in_validates_refreshes_and_revokes(running_provider):
    rp_config = running_provider
    meta = httpx.get(f"{rp_config.issuer}/.well-known/openid-configuration").json()
    jwks = httpx.get(meta["jwks_uri"]).json()
    rp = OAuth2Client(
        rp_config.client_id,
        rp_config.client_secret,
        scope="openid profile phone offline_access",
        redirect_uri=rp_config.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

    with httpx.Client(base_url=rp_config.issuer) as browser:
        callback = walk_pages(browser, url, rp_config.redirect_uri, rp_config.id_number, rp_config.password)
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    claims = _validate_id_token(
        token["id_token"], jwks, rp_config.issuer, rp_config.client_id, nonce, token["access_token"]
    )
    info = rp.get(meta["userinfo_endpoint"]).json()
    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    revoked = rp.revoke_token(
        meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    after = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {refreshed['access_token']}"})

    assert claims["acr"] == "LoA1" and claims["amr"] == ["pwd"] and claims["sub"] == info["sub"]
    assert info["name"] == "Trần Thị Bình" and info["phone_number"] == "+84912345678"
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert revoked.status_code == 200
    assert after.status_code == 401
