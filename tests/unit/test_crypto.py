"""Keys, JWTs and password hashing."""

from __future__ import annotations

import base64
import json

import argon2
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.crypto import jwts
from idp.crypto.jwts import BadToken, sign, verify
from idp.crypto.keys import KeyRing, ensure_keys, load_keys, thumbprint
from idp.crypto.passwords import ARGON2_TESTS, Argon2Profile, PasswordHasher


def test_the_thumbprint_matches_rfc_7638_section_3_1():
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
        "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
        "qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH"
        "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }

    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_first_start_generates_one_key_per_algorithm_and_a_second_start_none(tmp_path):
    first = ensure_keys(tmp_path)
    second = ensure_keys(tmp_path)

    assert len(first) == 2 and second == []
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in tmp_path.glob("*.pem"))
    assert sorted(load_keys(tmp_path).algorithms) == ["ES256", "RS256"]


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> KeyRing:
    path = tmp_path_factory.mktemp("k")
    ensure_keys(path)
    return load_keys(path)


def _claims(now=1000):
    return {"iss": "https://idp.test", "aud": "https://idp.test", "sub": "s", "iat": now, "exp": now + 300}


def _verify(token, ring, now=1000, typ="at+jwt"):
    return verify(token, ring, typ=typ, issuer="https://idp.test", audience="https://idp.test", now=now, leeway=60)


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_a_token_signed_by_the_ring_verifies(ring):
    token = sign(_claims(), ring.signer("ES256"), "at+jwt")

    assert _verify(token, ring)["sub"] == "s"


def test_a_token_of_another_type_is_refused(ring):
    token = sign(_claims(), ring.signer("ES256"), "JWT")

    with pytest.raises(BadToken):
        _verify(token, ring)


def test_an_unknown_crit_header_is_refused(ring):
    key = ring.signer("ES256")
    token = pyjwt.encode(
        _claims(), key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt", "crit": ["exp"]}
    )

    with pytest.raises(BadToken):
        _verify(token, ring)


def test_a_key_used_with_another_algorithm_is_refused(ring):
    rsa = ring.signer("RS256")
    token = pyjwt.encode(_claims(), rsa.private_key, algorithm="PS256", headers={"kid": rsa.kid, "typ": "at+jwt"})

    with pytest.raises(BadToken):
        _verify(token, ring)


def test_alg_none_is_refused(ring):
    key = ring.signer("ES256")
    token = _b64({"alg": "none", "kid": key.kid, "typ": "at+jwt"}) + "." + _b64(_claims()) + "."

    with pytest.raises(BadToken):
        _verify(token, ring)


def test_expiry_is_judged_by_the_injected_clock_with_leeway(ring):
    token = sign(_claims(now=1000), ring.signer("ES256"), "at+jwt")

    assert _verify(token, ring, now=1359)
    with pytest.raises(BadToken):
        _verify(token, ring, now=1360)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda payload, signature: (payload[:-4] + "!!!!", signature),  # outside base64url's alphabet
        lambda payload, signature: (_b64({**_claims(), "sub": "someone else"}), signature),
        lambda payload, signature: (payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")),
        lambda payload, signature: (payload + "=", signature),  # padding on a length that takes none
    ],
)
def test_a_token_whose_header_was_read_before_is_still_checked_whole(ring, tamper):
    """Headers are kept by their segment once read: a token that shares a good one gets no further."""
    good = sign(_claims(), ring.signer("ES256"), "at+jwt")
    header, payload, signature = good.split(".")
    assert _verify(good, ring)["sub"] == "s"  # its header is now kept
    payload, signature = tamper(payload, signature)

    with pytest.raises(BadToken):
        _verify(f"{header}.{payload}.{signature}", ring)


def test_the_headers_kept_stay_bounded_and_each_token_is_judged_by_its_own(ring):
    key = ring.signer("ES256")
    for i in range(jwts._HEADERS_KEPT * 3):
        token = pyjwt.encode(
            _claims(), key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt", "n": i}
        )
        assert _verify(token, ring)["sub"] == "s"
        other_type = pyjwt.encode(
            _claims(), key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "JWT", "n": i}
        )
        with pytest.raises(BadToken):
            _verify(other_type, ring)

    assert len(jwts._HEADERS) <= jwts._HEADERS_KEPT


def test_a_password_hashed_under_old_parameters_needs_rehash_and_still_verifies():
    old = PasswordHasher(Argon2Profile(time_cost=1, memory_cost=32, parallelism=1))
    new = PasswordHasher(ARGON2_TESTS)
    stored = old.hash("correct horse")

    assert new.verify(stored, "correct horse") and new.needs_rehash(stored)
    assert not new.needs_rehash(new.hash("correct horse"))


def test_creating_a_hasher_does_no_argon2_work_so_start_up_pays_for_no_hash():
    unusable = Argon2Profile(time_cost=1, memory_cost=7, parallelism=1)  # argon2 refuses to hash with it

    hasher = PasswordHasher(unusable)

    with pytest.raises(argon2.exceptions.HashingError):
        hasher.verify(None, "the decoy is made by the first check")


def test_the_idle_hook_runs_once_no_check_is_left_and_its_failure_fails_no_check():
    calls = []

    def hand_back():
        calls.append(1)
        raise OSError("no malloc_trim here")

    hasher = PasswordHasher(ARGON2_TESTS, workers=2, when_idle=hand_back)
    stored = hasher.hash("correct horse")

    assert hasher.verify(stored, "correct horse") is True
    assert hasher.verify(stored, "wrong horse") is False
    assert len(calls) == 3  # after the hash and after each check: none overlapped


def test_verifying_without_a_stored_hash_is_false():
    hasher = PasswordHasher(ARGON2_TESTS)

    assert hasher.verify(None, "decoy password, never matches") is False


def _corrupt_rsa_key(keys_dir) -> str:
    """Rewrite the folder's RS256 key with a private exponent off by two: the PEM parses, the key is
    inconsistent (a key damaged on disk or by a faulty tool). Returns the file's name."""
    path = next(keys_dir.glob("rs256-*.pem"))
    numbers = serialization.load_pem_private_key(path.read_bytes(), password=None).private_numbers()
    damaged = rsa.RSAPrivateNumbers(
        numbers.p, numbers.q, numbers.d + 2, numbers.dmp1, numbers.dmq1, numbers.iqmp, numbers.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = damaged.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    return path.name


def test_an_inconsistent_rsa_key_is_refused_on_every_load_naming_its_file(tmp_path):
    ensure_keys(tmp_path)
    name = _corrupt_rsa_key(tmp_path)

    for _ in range(2):  # a refused file is not remembered as checked
        with pytest.raises(ValueError, match=f"key file {name} does not load"):
            load_keys(tmp_path)


def test_a_key_file_replaced_after_a_good_load_is_checked_again(tmp_path):
    ensure_keys(tmp_path)
    assert sorted(load_keys(tmp_path).algorithms) == ["ES256", "RS256"]  # checked once, remembered
    name = _corrupt_rsa_key(tmp_path)  # same file name, other bytes

    with pytest.raises(ValueError, match=f"key file {name} does not load"):
        load_keys(tmp_path)
