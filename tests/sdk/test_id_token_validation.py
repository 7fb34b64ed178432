"""Every ID token rule, broken once."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import serialization

from postid_client import (
    InsufficientAssurance,
    InvalidSignature,
    NonceMismatch,
    TokenExpired,
    TokenValidationError,
    UnknownSigningKey,
)
from postid_client._jose import b64url_encode

from .conftest import FakeProvider, log_in, new_ec_key, unsigned_json_token


def test_a_well_formed_id_token_logs_the_citizen_in_with_level_and_methods(provider, client):
    tokens = log_in(provider, client)

    assert (tokens.claims.sub, tokens.claims.acr, tokens.claims.amr) == ("citizen-1", "LoA2", ("pwd", "otp"))
    assert tokens.claims.get("name") == "Nguyễn Văn An"


def test_an_id_token_from_another_issuer_is_refused(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, iss="https://evil.test")

    assert caught.value.code == "invalid_iss"


def test_an_id_token_for_another_portal_is_refused(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, aud="other-portal", azp="other-portal")

    assert caught.value.code == "invalid_aud"


def test_an_id_token_with_several_audiences_and_no_azp_is_refused(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, aud=["portal-thue", "other-portal"], azp=None)

    assert caught.value.code == "invalid_azp"


def test_an_id_token_whose_azp_names_another_portal_is_refused(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, azp="other-portal")

    assert caught.value.code == "invalid_azp"


def test_an_expired_id_token_is_refused(provider, client, clock):
    with pytest.raises(TokenExpired) as caught:
        log_in(provider, client, exp=int(clock()) - 61)

    assert caught.value.code == "token_expired"


def test_an_id_token_expired_within_the_leeway_is_accepted(provider, client, clock):
    tokens = log_in(provider, client, exp=int(clock()) - 59)

    assert tokens.claims.sub == "citizen-1"


def test_an_id_token_issued_in_the_future_is_refused(provider, client, clock):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, iat=int(clock()) + 120)

    assert caught.value.code == "invalid_iat"


def test_an_id_token_with_another_nonce_is_refused(provider, client):
    with pytest.raises(NonceMismatch):
        log_in(provider, client, nonce="someone-elses-nonce")


def test_an_id_token_without_nonce_is_refused(provider, client):
    with pytest.raises(NonceMismatch):
        log_in(provider, client, nonce=None)


def test_an_unsigned_alg_none_id_token_is_refused(provider, client):
    def none_token(login):
        return unsigned_json_token({"alg": "none", "typ": "JWT"}, provider.id_token_claims(login))

    with pytest.raises(InvalidSignature) as caught:
        log_in(provider, client, token=none_token)

    assert caught.value.code == "unsupported_alg"


def test_an_hs256_token_keyed_with_the_providers_public_key_is_refused(provider, client):
    public_pem = (
        provider.keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def confused_token(login):
        unsigned = unsigned_json_token({"alg": "HS256", "typ": "JWT", "kid": "key-1"}, provider.id_token_claims(login))
        signing_input = unsigned.rsplit(".", 1)[0]
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url_encode(mac)}"

    with pytest.raises(InvalidSignature) as caught:
        log_in(provider, client, token=confused_token)

    assert caught.value.code == "unsupported_alg"


def test_an_id_token_signed_by_another_key_under_a_known_kid_is_refused(provider, client):
    impostor = new_ec_key("key-1")

    with pytest.raises(InvalidSignature):
        log_in(provider, client, token=lambda login: provider.sign(provider.id_token_claims(login), key=impostor))


def test_a_tampered_payload_fails_the_signature_check(provider, client):
    def tampered(login):
        header, _, signature = provider.sign(provider.id_token_claims(login)).split(".")
        forged = base64.urlsafe_b64encode(b'{"sub":"admin"}').rstrip(b"=").decode()
        return f"{header}.{forged}.{signature}"

    with pytest.raises(InvalidSignature):
        log_in(provider, client, token=tampered)


def test_an_access_token_presented_as_id_token_is_refused_by_its_typ(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, token=lambda login: provider.sign(provider.id_token_claims(login), typ="at+jwt"))

    assert caught.value.code == "invalid_typ"


def test_an_id_token_with_a_critical_header_extension_is_refused(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(
            provider,
            client,
            token=lambda login: provider.sign(provider.id_token_claims(login), headers={"crit": ["exp"], "exp": 1}),
        )

    assert caught.value.code == "unsupported_crit"


def test_a_rotated_provider_key_is_picked_up_by_one_jwks_refetch(provider, client, clock):
    log_in(provider, client)
    provider.keys.append(new_ec_key("key-2"))
    clock.advance(61)

    tokens = log_in(provider, client)

    assert tokens.claims.sub == "citizen-1"
    assert provider.count("/jwks") == 2


def test_an_id_token_from_the_token_endpoint_with_an_unknown_kid_gets_one_refetch_and_then_fails(
    provider, client, clock
):
    log_in(provider, client)
    stranger = new_ec_key("key-unknown")
    clock.advance(1)

    with pytest.raises(UnknownSigningKey) as caught:
        log_in(provider, client, token=lambda login: provider.sign(provider.id_token_claims(login), key=stranger))

    assert caught.value.code == "unknown_kid"
    assert provider.count("/jwks") == 2


def test_a_key_published_a_second_after_the_last_fetch_still_passes_the_next_login(provider, client, clock):
    log_in(provider, client)
    provider.keys.append(new_ec_key("key-2"))  # forced rotation: signs at once
    clock.advance(1)

    tokens = log_in(provider, client)

    assert tokens.claims.sub == "citizen-1"


def test_the_jwks_is_fetched_again_once_its_lifespan_is_over(provider, client, clock):
    log_in(provider, client)
    clock.advance(301)

    log_in(provider, client)

    assert provider.count("/jwks") == 2


def test_an_id_token_below_the_requested_level_is_refused(provider, client):
    with pytest.raises(InsufficientAssurance) as caught:
        log_in(provider, client, login_options={"acr_values": "LoA2"}, acr="LoA1")

    assert caught.value.code == "insufficient_assurance"


def test_an_id_token_without_acr_is_refused_when_a_level_was_required(provider):
    client = provider.client(required_acr="LoA2")

    with pytest.raises(InsufficientAssurance):
        log_in(provider, client, acr=None)


def test_an_id_token_above_the_requested_level_is_accepted(provider, client):
    tokens = log_in(provider, client, login_options={"acr_values": "LoA1"}, acr="LoA2")

    assert tokens.claims.acr == "LoA2"


def test_an_id_token_with_a_wrong_at_hash_is_refused(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, at_hash="AAAAAAAAAAAAAAAAAAAAAA")

    assert caught.value.code == "invalid_at_hash"


def test_an_id_token_without_auth_time_is_refused_when_max_age_was_asked(provider, client):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, login_options={"max_age": 300}, auth_time=None)

    assert caught.value.code == "invalid_auth_time"


def test_an_id_token_whose_login_is_older_than_max_age_is_refused(provider, client, clock):
    with pytest.raises(TokenValidationError) as caught:
        log_in(provider, client, login_options={"max_age": 300}, auth_time=int(clock()) - 361)

    assert caught.value.code == "auth_time_too_old"


def test_an_rs256_id_token_verifies_against_an_rsa_key_with_its_at_hash(clock):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from .conftest import SigningKey

    rsa_key = SigningKey("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
    provider = FakeProvider(clock, keys=[rsa_key])
    client = provider.client()

    tokens = log_in(provider, client)

    assert tokens.claims.sub == "citizen-1"


def test_a_token_claiming_ps256_is_not_verified_with_a_key_pinned_to_es256(provider, client):
    def mislabelled(login):
        token = provider.sign(provider.id_token_claims(login))
        header = {"alg": "PS256", "typ": "JWT", "kid": "key-1"}
        return unsigned_json_token(header, {}).split(".")[0] + "." + token.split(".", 1)[1]

    with pytest.raises(UnknownSigningKey):
        log_in(provider, client, token=mislabelled)
