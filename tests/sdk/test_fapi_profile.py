"""`profile="fapi2"`: the FAPI 2.0 Security Profile on the portal's side, one rule per test,
against a fake provider that also answers PAR and issues DPoP-bound tokens."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from mypy import api

from postid_client import (
    AsyncPostIDClient,
    ClientSecretBasic,
    ConfigurationError,
    DPoPKey,
    InvalidProviderResponse,
    InvalidSignature,
    IssuerMismatch,
    NoClientAuth,
    PostIDClient,
    PrivateKeyJwt,
)
from postid_client._jose import left_half_hash
from postid_client.starlette_auth import PostIDAuth

from .conftest import ACCESS_TOKEN, CLIENT_ID, ISSUER, REDIRECT_URI, FakeProvider, SigningKey, callback_url

REQUEST_URI = "urn:ietf:params:oauth:request_uri:abc"


@cache
def _rsa_key() -> rsa.RSAPrivateKey:
    """One RSA key per run: generating one costs ~100 ms."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FapiProvider(FakeProvider):
    """The fake provider with a PAR endpoint, answering DPoP-bound tokens."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/par":
            self.requests.append(request)
            return httpx.Response(201, json={"request_uri": REQUEST_URI, "expires_in": 60})
        return super().handler(request)

    def fapi_client(self, auth: Any = None, **options: Any) -> PostIDClient:
        return PostIDClient(
            ISSUER,
            CLIENT_ID,
            auth=auth or PrivateKeyJwt.generate(),
            redirect_uri=REDIRECT_URI,
            profile="fapi2",
            clock=self.clock,
            http_client=httpx.Client(transport=httpx.MockTransport(self.handler)),
            **options,
        )

    def answer(self, id_token: str | None, **extra: Any) -> None:
        body = {"access_token": ACCESS_TOKEN, "token_type": "DPoP", "expires_in": 600, **extra}
        if id_token is not None:
            body["id_token"] = id_token
        self.token_body = body

    def header_of(self, path: str, field: str) -> dict[str, Any]:
        return jwt.get_unverified_header(self.form(path)[field])

    def last(self, path: str) -> httpx.Request:
        return [request for request in self.requests if request.url.path == path][-1]


@pytest.fixture
def fapi(clock) -> FapiProvider:
    provider = FapiProvider(clock)
    provider.discovery_overrides["pushed_authorization_request_endpoint"] = f"{ISSUER}/par"
    return provider


def _log_in(provider: FapiProvider, client: PostIDClient, key: SigningKey | None = None, **callback: str | None):
    login = client.start_login(scope="openid offline_access")
    claims = provider.id_token_claims(login)
    if key is not None:
        claims["at_hash"] = left_half_hash(ACCESS_TOKEN, key.alg)
    provider.answer(provider.sign(claims, key=key), refresh_token="refresh-1")
    return client.finish_login(callback_url(login, **callback), login)


# -- misconfiguration is refused at construction -------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"client_secret": "s3cret"},
        {"auth": ClientSecretBasic("s3cret")},
        {"auth": NoClientAuth()},
        {},
    ],
    ids=["client_secret", "client_secret_basic", "none", "no-auth"],
)
@pytest.mark.parametrize("client_class", [PostIDClient, AsyncPostIDClient])
def test_a_fapi2_client_without_private_key_jwt_is_refused_at_construction(client_class, options):
    with pytest.raises(ConfigurationError) as refused:
        client_class(ISSUER, CLIENT_ID, redirect_uri=REDIRECT_URI, profile="fapi2", **options)

    assert "private_key_jwt" in str(refused.value)


def test_a_fapi2_client_whose_assertion_audience_is_not_the_issuer_is_refused():
    with pytest.raises(ConfigurationError) as refused:
        PostIDClient(ISSUER, CLIENT_ID, auth=PrivateKeyJwt.generate(audience="token_endpoint"), profile="fapi2")

    assert "audience" in str(refused.value)


def test_a_fapi2_client_with_an_rsa_key_told_to_sign_rs256_is_refused():
    with pytest.raises(ConfigurationError) as refused:
        PostIDClient(ISSUER, CLIENT_ID, auth=PrivateKeyJwt(_rsa_key(), algorithm="RS256"), profile="fapi2")

    assert "PS256" in str(refused.value)


def test_an_unknown_profile_is_refused():
    with pytest.raises(ConfigurationError):
        PostIDClient(ISSUER, CLIENT_ID, auth=PrivateKeyJwt.generate(), profile="fapi")  # type: ignore[arg-type]


def test_postid_auth_with_profile_fapi2_refuses_a_client_that_is_not_fapi2():
    standard = AsyncPostIDClient(ISSUER, CLIENT_ID, auth=PrivateKeyJwt.generate(), redirect_uri=REDIRECT_URI)
    fapi2 = AsyncPostIDClient(
        ISSUER, CLIENT_ID, auth=PrivateKeyJwt.generate(), redirect_uri=REDIRECT_URI, profile="fapi2"
    )

    with pytest.raises(ConfigurationError) as refused:
        PostIDAuth(standard, session_secret="s" * 32, profile="fapi2")
    accepted = PostIDAuth(fapi2, session_secret="s" * 32, profile="fapi2")

    assert "profile='fapi2'" in str(refused.value)
    assert accepted.profile == "fapi2" and PostIDAuth(fapi2, session_secret="s" * 32).profile == "fapi2"


# -- PAR and DPoP are on -------------------------------------------------------------------------


def test_a_fapi2_login_is_pushed_with_a_dpop_proof_and_the_browser_gets_only_the_request_uri(fapi):
    client = fapi.fapi_client()

    login = client.start_login(scope="openid")

    pushed = fapi.last("/par")
    assert dict(parse_qsl(urlsplit(login.url).query)) == {"client_id": CLIENT_ID, "request_uri": REQUEST_URI}
    assert fapi.form("/par")["code_challenge_method"] == "S256"
    assert jwt.get_unverified_header(pushed.headers["DPoP"])["alg"] == "ES256"
    assert login.dpop_key is not None


# -- client assertions: algorithm by key type, aud the issuer as a string -----------------------


def test_an_rsa_key_signs_fapi2_assertions_with_ps256_and_standard_ones_with_rs256(fapi):
    auth = PrivateKeyJwt(_rsa_key())

    fapi.client(auth=auth, par=True).start_login(scope="openid")
    standard_header = fapi.header_of("/par", "client_assertion")
    fapi.fapi_client(auth).start_login(scope="openid")
    fapi_header = fapi.header_of("/par", "client_assertion")
    claims = jwt.decode(
        fapi.form("/par")["client_assertion"],
        _rsa_key().public_key(),
        algorithms=["PS256"],
        audience=ISSUER,
        options={"verify_iat": False, "verify_exp": False},
    )

    assert standard_header["alg"] == "RS256" and auth.algorithm == "RS256"  # the portal's object is unchanged
    assert fapi_header["alg"] == "PS256" and fapi_header["kid"] == auth.kid
    assert claims["aud"] == ISSUER and isinstance(claims["aud"], str)


@pytest.mark.parametrize(("algorithm", "expected"), [("ES256", "ES256"), ("EdDSA", "EdDSA"), ("PS256", "PS256")])
def test_fapi2_assertions_are_signed_by_key_type_with_the_issuer_as_a_string_audience(fapi, algorithm, expected):
    auth = PrivateKeyJwt.generate(algorithm)
    client = fapi.fapi_client(auth)

    _log_in(fapi, client)

    public = jwt.PyJWK(auth.public_jwks()["keys"][0]).key
    for path in ("/par", "/token"):
        assertion = fapi.form(path)["client_assertion"]
        claims = jwt.decode(
            assertion,
            public,
            algorithms=[expected],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
        assert jwt.get_unverified_header(assertion)["alg"] == expected
        assert claims["aud"] == ISSUER  # the issuer, not the endpoint, and not an array
        assert claims["iss"] == claims["sub"] == CLIENT_ID


def test_an_ed25519_key_loaded_from_pem_signs_eddsa(fapi):
    pem = PrivateKeyJwt(ed25519.Ed25519PrivateKey.generate()).private_key_pem()
    auth = PrivateKeyJwt(pem)

    assert auth.algorithm == "EdDSA"
    assert auth.public_jwks()["keys"][0]["kty"] == "OKP" and auth.public_jwks()["keys"][0]["crv"] == "Ed25519"


# -- DPoP proofs are never RS256 -----------------------------------------------------------------


def test_an_rsa_dpop_key_signs_ps256_and_rs256_is_refused():
    key = DPoPKey(_rsa_key())
    proof = key.proof("POST", f"{ISSUER}/token", now=0)

    with pytest.raises(ConfigurationError):
        DPoPKey(_rsa_key(), "RS256")
    assert key.algorithm == "PS256" and jwt.get_unverified_header(proof)["alg"] == "PS256"
    assert DPoPKey.from_dict(key.to_dict()).algorithm == "PS256"


def test_an_ed25519_dpop_key_signs_eddsa_with_its_public_jwk_in_the_header():
    key = DPoPKey.generate("EdDSA")
    header = jwt.get_unverified_header(key.proof("GET", f"{ISSUER}/userinfo", now=0, access_token="at"))

    assert header["alg"] == "EdDSA" and set(header["jwk"]) == {"kty", "crv", "x"}
    assert DPoPKey.from_dict(key.to_dict()).thumbprint == key.thumbprint


# -- ID tokens: PS256, ES256, EdDSA only ---------------------------------------------------------


def test_a_fapi2_client_refuses_an_rs256_id_token_a_standard_client_accepts(fapi):
    rsa_key = SigningKey("rsa-1", _rsa_key(), "RS256")
    fapi.keys.append(rsa_key)
    standard = fapi.client(dpop=True, par=True)

    accepted = _log_in(fapi, standard, rsa_key)
    with pytest.raises(InvalidSignature) as refused:
        _log_in(fapi, fapi.fapi_client(), rsa_key)

    assert accepted.claims.sub == "citizen-1"
    assert refused.value.code == "unsupported_alg"


@pytest.mark.parametrize(
    "key",
    [
        lambda: SigningKey("ps-1", _rsa_key(), "PS256"),
        lambda: SigningKey("ed-1", ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ],
    ids=["PS256", "EdDSA"],
)
def test_a_fapi2_client_accepts_ps256_and_eddsa_id_tokens(fapi, key):
    signing = key()
    fapi.keys.append(signing)

    tokens = _log_in(fapi, fapi.fapi_client(), signing)

    assert tokens.claims.sub == "citizen-1" and tokens.token_type == "DPoP"


# -- the callback and the token response ---------------------------------------------------------


def test_a_fapi2_callback_without_iss_is_refused_even_when_the_provider_does_not_announce_it(fapi):
    fapi.discovery_overrides["authorization_response_iss_parameter_supported"] = False

    accepted = _log_in(fapi, fapi.client(dpop=True, par=True), iss=None)
    with pytest.raises(IssuerMismatch):
        _log_in(fapi, fapi.fapi_client(), iss=None)

    assert accepted.claims.sub == "citizen-1"


def test_a_bearer_token_answered_to_a_fapi2_login_is_refused(fapi):
    client = fapi.fapi_client()
    login = client.start_login(scope="openid")
    fapi.answer(fapi.sign(fapi.id_token_claims(login)), token_type="Bearer")

    with pytest.raises(InvalidProviderResponse) as refused:
        client.finish_login(callback_url(login), login)

    assert refused.value.code == "token_not_sender_constrained"


# -- refresh without rotation --------------------------------------------------------------------


def test_a_fapi2_refresh_answered_without_a_refresh_token_keeps_the_old_one_and_its_dpop_key(fapi):
    client = fapi.fapi_client()
    tokens = _log_in(fapi, client)
    fapi.answer(None)

    refreshed = client.refresh(tokens)
    again = client.refresh(refreshed)

    assert refreshed.refresh_token == again.refresh_token == tokens.refresh_token == "refresh-1"
    assert fapi.form("/token")["refresh_token"] == "refresh-1"
    assert again.dpop_key is tokens.dpop_key and again.subject == tokens.subject
    assert jwt.get_unverified_header(fapi.last("/token").headers["DPoP"])["alg"] == "ES256"


def test_a_fapi2_client_refuses_to_refresh_a_bare_token_it_has_no_dpop_key_for(fapi):
    with pytest.raises(ConfigurationError):
        fapi.fapi_client().refresh("refresh-1", subject="citizen-1")


def test_the_profile_is_a_typed_keyword_mypy_strict_checks(tmp_path):
    portal = tmp_path / "portal.py"
    portal.write_text(
        "from postid_client import AsyncPostIDClient, PrivateKeyJwt\n"
        "from postid_client.starlette_auth import PostIDAuth\n"
        "key = PrivateKeyJwt.generate()\n"
        'good = AsyncPostIDClient("https://id.example.vn", "p", auth=key, redirect_uri="/cb", profile="fapi2")\n'
        'PostIDAuth(good, session_secret="s" * 32, profile="fapi2")\n'
        'AsyncPostIDClient("https://id.example.vn", "p", auth=key, profile="fapi-2")\n'
    )
    root = Path(__file__).resolve().parents[2]

    out, _, status = api.run(["--strict", "--config-file", str(root / "pyproject.toml"), str(portal)])

    assert status == 1
    assert out.count("error:") == 1 and "portal.py:6:" in out and "fapi-2" in out
