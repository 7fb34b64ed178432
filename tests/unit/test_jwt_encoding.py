"""The provider's JWTs are the ones `jwt.encode` makes (`idp.crypto.encoding` keeps PyJWT's header
segment per key and `typ`, and signs with PyJWT's algorithm objects)."""

from __future__ import annotations

import jwt as pyjwt
import pytest

from idp.crypto import encoding
from idp.crypto.jwts import TYP_ACCESS_TOKEN, TYP_ID_TOKEN, TYP_LOGOUT_TOKEN, sign
from idp.crypto.keys import KeyRing, ensure_keys, load_keys

CLAIMS = {
    "iss": "https://idp.test",
    "sub": "3f0c2a",
    "aud": "portal",
    "iat": 1_000,
    "exp": 1_300,
    "name": "Nguyễn Văn An",  # non-ASCII: PyJWT writes \\u escapes
    "amr": ["pwd", "otp"],
    "acr": "LoA2",
    "nested": {"b": 1, "a": None, "ok": True},
}


@pytest.fixture
def ring(tmp_path) -> KeyRing:
    ensure_keys(tmp_path)
    return load_keys(tmp_path)


def _pyjwt(claims, key, typ) -> str:
    return pyjwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})


def test_an_rs256_token_is_byte_for_byte_the_one_pyjwt_makes_after_its_header_is_kept(ring):
    key = ring.signer("RS256")  # RSASSA-PKCS1-v1_5 is deterministic: whole tokens compare
    first = sign(CLAIMS, key, TYP_ID_TOKEN)
    later = sign({**CLAIMS, "sub": "another"}, key, TYP_ID_TOKEN)

    assert first == _pyjwt(CLAIMS, key, TYP_ID_TOKEN)
    assert later == _pyjwt({**CLAIMS, "sub": "another"}, key, TYP_ID_TOKEN)


def test_an_es256_token_has_pyjwts_header_and_payload_and_verifies(ring):
    key = ring.signer("ES256")
    sign(CLAIMS, key, TYP_ACCESS_TOKEN)
    token = sign(CLAIMS, key, TYP_ACCESS_TOKEN)  # from the kept header

    header, payload, signature = token.split(".")
    theirs = _pyjwt(CLAIMS, key, TYP_ACCESS_TOKEN).split(".")
    assert (header, payload) == (theirs[0], theirs[1])
    assert len(signature) == 86  # r || s, 64 bytes, as JWS asks (not DER)
    assert pyjwt.get_unverified_header(token) == {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    options = {"verify_exp": False}
    assert pyjwt.decode(token, key.public_key, algorithms=["ES256"], audience="portal", options=options) == CLAIMS


def test_each_key_and_type_keeps_a_header_of_its_own(tmp_path):
    ensure_keys(tmp_path / "old")
    ensure_keys(tmp_path / "new")
    old, new = load_keys(tmp_path / "old").signer("ES256"), load_keys(tmp_path / "new").signer("ES256")
    order = [(old, TYP_ACCESS_TOKEN), (old, TYP_ID_TOKEN), (new, TYP_ACCESS_TOKEN), (old, TYP_LOGOUT_TOKEN)] * 2

    for key, typ in order:
        header = pyjwt.get_unverified_header(sign(CLAIMS, key, typ))
        assert (header["kid"], header["typ"]) == (key.kid, typ)


def test_the_headers_kept_stay_bounded(ring):
    key = ring.signer("ES256")
    for n in range(encoding._HEADERS_KEPT + 10):
        typ = f"type-{n}+jwt"
        assert pyjwt.get_unverified_header(sign(CLAIMS, key, typ))["typ"] == typ

    assert len(encoding._HEADERS) <= encoding._HEADERS_KEPT
