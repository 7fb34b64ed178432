"""A FAPI 2.0 portal built with the SDK's `profile="fapi2"` against the real provider on 127.0.0.1:
registered with `idp clients add --profile fapi2 --auth-method private_key_jwt --jwks-file …`, it
logs a citizen in through `PostIDAuth` (PAR, DPoP with server nonces, `private_key_jwt`), calls an
API (userinfo) with the DPoP-bound token, refreshes twice and keeps the same refresh token (the
provider does not rotate a FAPI portal's tokens), then logs out, which revokes that token."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from postid_client import AsyncPostIDClient, OAuthError, PostIDClient, PrivateKeyJwt, TokenSet
from postid_client.starlette_auth import PostIDAuth
from tests.helpers import CITIZEN, free_port, walk_pages

pytestmark = pytest.mark.e2e

SCOPE = "openid profile offline_access"


@cache
def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class KeyChoice:
    """The key the portal signs its assertions with, and the JWKS it registers for it."""

    auth: PrivateKeyJwt
    registered: PrivateKeyJwt

    @classmethod
    def of(cls, kind: str) -> KeyChoice:
        if kind == "rsa-default":  # left to its default the key would sign RS256; fapi2 makes it PS256
            return cls(PrivateKeyJwt(_rsa_key()), PrivateKeyJwt(_rsa_key(), algorithm="PS256"))
        auth = PrivateKeyJwt.generate(kind)
        return cls(auth, auth)


def _register_fapi_portal(running_provider, redirect_uri: str, post_logout: str, jwks: dict[str, Any], tmp_path: Path):
    jwks_file = tmp_path / "portal-jwks.json"
    jwks_file.write_text(json.dumps(jwks), encoding="utf-8")
    command = ["clients", "add", "--name", "Ngân hàng (FAPI 2.0)", "--redirect-uri", redirect_uri, "--profile", "fapi2"]
    command += ["--post-logout-redirect-uri", post_logout, "--scope", *SCOPE.split()]
    command += ["--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file)]
    added = subprocess.run(
        [sys.executable, "-m", "idp.cli", *command],
        env=running_provider.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["profile"] == "fapi2" and "client_secret" not in created
    return created["client_id"]


def _bank_portal(client: AsyncPostIDClient, userinfo_url: str, seen: list[TokenSet]) -> Starlette:
    """`/api` calls userinfo as the citizen; `refresh_margin` covers the whole token lifetime, so
    every call refreshes first. Each token set used is kept in `seen` for the test to look at."""
    auth = PostIDAuth(client, session_secret="s" * 32, scope=SCOPE, refresh_margin=10**6, profile="fapi2")

    async def api(request: Request) -> JSONResponse:
        tokens = await auth.token_set(request)
        if tokens is None:
            return JSONResponse({"logged_in": False}, status_code=401)
        seen.append(tokens)
        response = await client.request(tokens, "GET", userinfo_url, headers={"Accept": "application/json"})
        return JSONResponse({"status": response.status_code, "body": response.json()})

    return Starlette(routes=[Route("/api", api), *auth.routes], middleware=[auth.middleware])


@pytest.mark.parametrize("kind", ["ES256", "rsa-default", "EdDSA"])
def test_a_fapi2_portal_logs_in_calls_an_api_refreshes_without_rotation_and_logs_out(running_provider, tmp_path, kind):
    rp = running_provider
    portal_url = f"http://127.0.0.1:{free_port()}"
    keys = KeyChoice.of(kind)
    client_id = _register_fapi_portal(
        rp, f"{portal_url}/callback", f"{portal_url}/", keys.registered.public_jwks(), tmp_path
    )
    meta = httpx.get(f"{rp.issuer}/.well-known/openid-configuration").json()
    client = AsyncPostIDClient(
        rp.issuer, client_id, auth=keys.auth, redirect_uri=f"{portal_url}/callback", profile="fapi2"
    )
    seen: list[TokenSet] = []
    app = _bank_portal(client, meta["userinfo_endpoint"], seen)
    with (
        TestClient(app, base_url=portal_url, follow_redirects=False) as browser,
        httpx.Client(base_url=rp.issuer) as at_provider,
    ):
        to_provider = browser.get("/login")
        callback = walk_pages(
            at_provider, to_provider.headers["location"], f"{portal_url}/callback", rp.id_number, rp.password
        )
        back = browser.get(callback.removeprefix(portal_url))
        first = browser.get("/api").json()
        second = browser.get("/api").json()
        as_bearer = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {seen[-1].access_token}"})
        logged_out = browser.post("/logout")
        after = browser.get("/api")
    with (
        PostIDClient(rp.issuer, client_id, auth=keys.auth, profile="fapi2") as direct,
        pytest.raises(OAuthError) as revoked,
    ):
        direct.refresh(seen[-1])

    assert set(httpx.URL(to_provider.headers["location"]).params) == {"client_id", "request_uri"}  # PAR
    assert back.status_code == 303, back.text
    assert first["status"] == 200 and first["body"]["name"] == CITIZEN.full_name
    assert second["status"] == 200 and second["body"]["sub"] == first["body"]["sub"]
    assert [tokens.token_type for tokens in seen] == ["DPoP", "DPoP"]
    assert seen[0].refresh_token == seen[1].refresh_token  # §5.3.2.1-9: refreshed twice, never rotated
    assert seen[0].access_token != seen[1].access_token  # the refreshes really happened
    access = jwt.decode(seen[-1].access_token, options={"verify_signature": False})
    assert seen[-1].dpop_key is not None and access["cnf"] == {"jkt": seen[-1].dpop_key.thumbprint}
    assert as_bearer.status_code == 401  # the token is bound to the session's DPoP key
    assert logged_out.status_code == 303 and logged_out.headers["location"].startswith(meta["end_session_endpoint"])
    assert after.status_code == 401
    assert revoked.value.error == "invalid_grant"  # logout revoked the refresh token at the provider
