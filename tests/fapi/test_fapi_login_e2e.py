"""A FAPI 2.0 login against the real server on 127.0.0.1, as a bank's portal would do it with
nothing but httpx, PyJWT and cryptography: PAR, DPoP with server nonces, `private_key_jwt` with an
ES256 key, the ID token checked against the JWKS, userinfo with a DPoP proof, and refreshes that
give the same refresh token back. The portal is registered with the real `idp clients add
--profile fapi2`. (The SDK's `profile="fapi2"` comes with the SDK's own rework.)"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from idp.bootstrap import open_provider
from idp.core.accounts import add_active_citizen
from idp.settings import Settings
from tests.helpers import CITIZEN, free_port, query_of, serving, walk_pages

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect itself
PASSWORD = "a long enough test password"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jkt(jwk: dict[str, str]) -> str:
    """RFC 7638, written out here rather than borrowed from the provider."""
    canonical = json.dumps({m: jwk[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass
class Bank:
    """The portal: its client id, its ES256 client key, and a DPoP key of its own."""

    issuer: str
    client_id: str
    client_key: ec.EllipticCurvePrivateKey
    kid: str
    dpop_key: ec.EllipticCurvePrivateKey
    nonce: str | None = None

    @property
    def dpop_jwk(self) -> dict[str, str]:
        jwk = ECAlgorithm.to_jwk(self.dpop_key.public_key(), as_dict=True)
        return {k: jwk[k] for k in ("kty", "crv", "x", "y")}

    def assertion(self) -> dict[str, str]:
        now = int(time.time())  # a real server reads the real clock
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,  # §5.3.2.1-8: the issuer, as a string
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(claims, self.client_key, "ES256", headers={"kid": self.kid})
        return {"client_assertion_type": JWT_BEARER, "client_assertion": token}

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        now = int(time.time())  # a real server reads the real clock
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": now}
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode()).digest())
        return jwt.encode(claims, self.dpop_key, "ES256", headers={"typ": "dpop+jwt", "jwk": self.dpop_jwk})

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        """A back-channel POST with a client assertion and a DPoP proof, once more with the nonce
        the server asks for (RFC 9449 §8)."""
        for _ in range(2):
            response = httpx.post(url, data=data | self.assertion(), headers={"DPoP": self.proof("POST", url)})
            self.nonce = response.headers.get("dpop-nonce", self.nonce)
            if not (response.status_code in (400, 401) and response.json().get("error") == "use_dpop_nonce"):
                return response
        return response


@pytest.fixture
def bank(tmp_path: Path, keys_dir: Path, database_url: str) -> Iterator[Bank]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    shutil.copytree(keys_dir, tmp_path / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ISSUER=issuer,
        IDP_DATA_DIR=str(tmp_path / "data"),
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_DATABASE_URL=database_url,
        IDP_PASSWORD_PROFILE="tests",
        IDP_METRICS_ADDRESS="",
        IDP_ACCESS_TOKEN_TTL="3600",  # the profile caps a FAPI portal's tokens at 600 s whatever this says
    )
    settings = Settings.from_env(env)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    provider = open_provider(settings)
    try:
        add_active_citizen(provider, replace(CITIZEN, email=None), PASSWORD)
    finally:
        provider.store.close()
    client_key, kid = ec.generate_private_key(ec.SECP256R1()), secrets.token_hex(4)
    public = ECAlgorithm.to_jwk(client_key.public_key(), as_dict=True) | {"kid": kid, "alg": "ES256", "use": "sig"}
    jwks_file = tmp_path / "bank-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [public]}), encoding="utf-8")
    command = ["clients", "add", "--name", "Ngân hàng", "--redirect-uri", REDIRECT_URI, "--profile", "fapi2"]
    command += ["--scope", "openid", "profile", "offline_access"]
    command += ["--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file)]
    added = subprocess.run(
        [sys.executable, "-m", "idp.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    client_id = json.loads(added.stdout)["client_id"]
    with serving([sys.executable, "-m", "idp.cli", "serve", "--port", str(port)], env, f"{issuer}/readyz"):
        yield Bank(issuer, client_id, client_key, kid, ec.generate_private_key(ec.SECP256R1()))


def test_a_fapi2_portal_logs_in_with_par_dpop_and_private_key_jwt_and_refreshes_without_rotation(bank):
    meta = httpx.get(f"{bank.issuer}/.well-known/openid-configuration").json()
    jwks = jwt.PyJWKSet.from_dict(httpx.get(meta["jwks_uri"]).json())
    verifier, state, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    pushed = bank.post(
        meta["pushed_authorization_request_endpoint"],
        {
            "client_id": bank.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile offline_access",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.text
    authorize = (
        meta["authorization_endpoint"]
        + "?"
        + urlencode({"client_id": bank.client_id, "request_uri": pushed.json()["request_uri"]})
    )

    with httpx.Client(base_url=bank.issuer) as browser:
        callback = query_of(walk_pages(browser, authorize, REDIRECT_URI, CITIZEN.id_number, PASSWORD))
    tokens = bank.post(
        meta["token_endpoint"],
        {
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    body = tokens.json()
    header = jwt.get_unverified_header(body["id_token"])
    id_token = jwt.decode(
        body["id_token"], jwks[header["kid"]].key, algorithms=["ES256"], audience=bank.client_id, issuer=bank.issuer
    )
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    info = httpx.get(
        meta["userinfo_endpoint"],
        headers={
            "Authorization": f"DPoP {body['access_token']}",
            "DPoP": bank.proof("GET", meta["userinfo_endpoint"], body["access_token"]),
        },
    )
    as_bearer = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"})
    refreshes = [
        bank.post(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
        for _ in range(2)
    ]

    assert callback["state"] == state and callback["iss"] == bank.issuer  # RFC 9207
    assert tokens.status_code == 200 and body["token_type"] == "DPoP" and body["expires_in"] == 600
    assert header["alg"] == "ES256" and id_token["nonce"] == nonce
    assert access["cnf"] == {"jkt": _jkt(bank.dpop_jwk)} and access["exp"] - access["iat"] == 600
    assert info.status_code == 200 and info.json()["sub"] == id_token["sub"]
    assert as_bearer.status_code == 401
    assert [r.status_code for r in refreshes] == [200, 200]
    assert [r.json()["refresh_token"] for r in refreshes] == [body["refresh_token"]] * 2  # §5.3.2.1-9: not rotated
    assert jwt.decode(refreshes[1].json()["access_token"], options={"verify_signature": False})["cnf"] == access["cnf"]
