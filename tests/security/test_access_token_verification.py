"""Access tokens are verified by the provider's own JWS check (idp.crypto.jwts): each way a
token signed with our own key can still be wrong is refused at /userinfo with 401."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers import Pkce, add_citizen, add_portal, exchange, issued_code


@pytest.fixture
def access_token(client, provider):
    portal, (record, _) = add_portal(provider), add_citizen(provider)
    pkce = Pkce()
    code = issued_code(provider, portal, record, pkce, scope="openid profile")["code"]
    return exchange(client, portal, code, pkce).json()["access_token"]


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _resigned(provider, token: str, key=None, **changes) -> str:
    """The token's claims with `changes` (None removes a claim), signed with our ES256 key's kid."""
    signer = provider.keys.signer("ES256")
    claims = {k: v for k, v in {**_claims(token), **changes}.items() if v is not None}
    return jwt.encode(
        claims, key or signer.private_key, algorithm="ES256", headers={"kid": signer.kid, "typ": "at+jwt"}
    )


def _userinfo(client, token: str):
    return client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def _refused(response) -> bool:
    return response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_resigned_with_our_key_and_unchanged_is_accepted(client, provider, access_token):
    response = _userinfo(client, _resigned(provider, access_token))

    assert response.status_code == 200


def test_an_audience_list_that_names_us_is_accepted(client, provider, access_token):
    token = _resigned(provider, access_token, aud=["https://api.example", provider.issuer])

    assert _userinfo(client, token).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://other.example"},
        {"aud": ["https://other.example"]},
        {"aud": None},
        {"iss": "https://other.example"},
        {"iss": None},
        {"exp": None},
        {"iat": None},
        {"sub": 12},
        {"jti": ["a"]},
    ],
    ids=[
        "other-aud",
        "aud-list-without-us",
        "no-aud",
        "other-iss",
        "no-iss",
        "no-exp",
        "no-iat",
        "sub-not-str",
        "jti-not-str",
    ],
)
def test_a_token_signed_by_us_with_a_wrong_or_missing_claim_gets_401(client, provider, access_token, changes):
    response = _userinfo(client, _resigned(provider, access_token, **changes))

    assert _refused(response)


def test_a_token_signed_by_another_key_under_our_kid_gets_401(client, provider, access_token):
    stranger = ec.generate_private_key(ec.SECP256R1())

    response = _userinfo(client, _resigned(provider, access_token, key=stranger))

    assert _refused(response)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h, p, s: f"{h}.{p}.{s[:-4]}",  # a signature shorter than R and S
        lambda h, p, s: f"{h}.{p}.{s}AAAA",  # longer
        lambda h, p, s: f"{h}.{p}.{s}=",  # padded
        lambda h, p, s: f"{h}.{p}=.{s}",
        lambda h, p, s: f"{h}.{p}.{s}.{s}",  # four segments
        lambda h, p, s: f"{h}.{p}",
        lambda h, p, s: f"{h}.{p.replace('e', '+', 1)}.{s}",  # base64, not base64url
    ],
    ids=[
        "short-signature",
        "long-signature",
        "padded-signature",
        "padded-payload",
        "four-segments",
        "two-segments",
        "plus",
    ],
)
def test_a_malformed_token_gets_401(client, access_token, mangle):
    response = _userinfo(client, mangle(*access_token.split(".")))

    assert _refused(response)


def test_a_payload_that_is_not_a_json_object_gets_401_even_when_signed(client, provider, access_token):
    signer = provider.keys.signer("ES256")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "kid": signer.kid, "typ": "at+jwt"}).encode())
    payload = base64.urlsafe_b64encode(b"[1, 2]")
    signing_input = header.rstrip(b"=") + b"." + payload.rstrip(b"=")
    signature = jwt.get_algorithm_by_name("ES256").sign(signing_input, signer.private_key)
    token = (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()

    assert _refused(_userinfo(client, token))
