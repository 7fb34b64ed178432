"""How the portal authenticates at the token endpoint."""

from __future__ import annotations

import base64
from urllib.parse import unquote_plus

import jwt
import pytest

from postid_client import ClientSecretPost, ConfigurationError, NoClientAuth, OAuthError, PrivateKeyJwt

from .conftest import CLIENT_ID, ISSUER, SECRET, log_in


def test_client_secret_basic_form_urlencodes_id_and_secret_before_base64(provider, client):
    log_in(provider, client)

    header = next(r for r in provider.requests if r.url.path == "/token").headers["Authorization"]
    raw_id, raw_secret = base64.b64decode(header.removeprefix("Basic ")).decode("ascii").split(":")
    assert raw_secret == "s3cret%3Awith+spaces%26symbols%2F%C3%A9"
    assert (unquote_plus(raw_id), unquote_plus(raw_secret)) == (CLIENT_ID, SECRET)
    assert "client_secret" not in provider.form("/token")


def test_client_secret_post_sends_id_and_secret_in_the_body(provider):
    client = provider.client(auth=ClientSecretPost(SECRET))

    log_in(provider, client)

    form = provider.form("/token")
    assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, SECRET)
    assert "Authorization" not in next(r for r in provider.requests if r.url.path == "/token").headers


def test_a_public_client_sends_only_its_client_id(provider):
    client = provider.client(auth=NoClientAuth())

    log_in(provider, client)

    form = provider.form("/token")
    assert form["client_id"] == CLIENT_ID
    assert "client_secret" not in form and "client_assertion" not in form


def test_private_key_jwt_sends_a_short_assertion_about_the_client_for_the_issuer(provider, clock):
    auth = PrivateKeyJwt.generate()
    client = provider.client(auth=auth)

    log_in(provider, client)

    form = provider.form("/token")
    key = jwt.PyJWK(auth.public_jwks()["keys"][0])
    claims = jwt.decode(
        form["client_assertion"],
        key.key,
        algorithms=["ES256"],
        audience=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert 0 < claims["exp"] - clock() <= 300
    assert claims["jti"]


def test_private_key_jwt_assertions_never_repeat_a_jti(provider):
    auth = PrivateKeyJwt.generate()
    client = provider.client(auth=auth)
    log_in(provider, client)
    first = jwt.decode(provider.form("/token")["client_assertion"], options={"verify_signature": False})

    log_in(provider, client)

    second = jwt.decode(provider.form("/token")["client_assertion"], options={"verify_signature": False})
    assert first["jti"] != second["jti"]


def test_private_key_jwt_can_address_the_token_endpoint_instead_of_the_issuer(provider):
    client = provider.client(auth=PrivateKeyJwt.generate(audience="token_endpoint"))

    log_in(provider, client)

    claims = jwt.decode(provider.form("/token")["client_assertion"], options={"verify_signature": False})
    assert claims["aud"] == f"{ISSUER}/token"


def test_the_public_jwks_to_register_holds_only_the_public_key_with_a_thumbprint_kid():
    auth = PrivateKeyJwt.generate()

    jwks = auth.public_jwks()

    (jwk,) = jwks["keys"]
    assert "d" not in jwk
    assert (jwk["kty"], jwk["alg"], jwk["use"], jwk["kid"]) == ("EC", "ES256", "sig", auth.kid)
    assert PrivateKeyJwt(auth.private_key_pem()).kid == auth.kid


def test_a_weak_rsa_key_is_refused_for_private_key_jwt():
    from cryptography.hazmat.primitives.asymmetric import rsa

    with pytest.raises(ConfigurationError):
        PrivateKeyJwt(rsa.generate_private_key(public_exponent=65537, key_size=1024))


def test_a_refused_client_keeps_the_providers_error_and_status(provider, client):
    login = client.start_login()
    provider.token_status = 401
    provider.token_body = {"error": "invalid_client", "error_description": "client authentication failed"}

    from .conftest import callback_url

    with pytest.raises(OAuthError) as caught:
        client.finish_login(callback_url(login), login)

    assert (caught.value.error, caught.value.error_description) == ("invalid_client", "client authentication failed")
    assert caught.value.status_code == 401
