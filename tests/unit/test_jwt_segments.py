"""The provider's JWT decoding checks each segment's base64url in C (`idp.crypto.decoding`): it must
accept and refuse exactly what PyJWT's own check does, with PyJWT's errors."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from jwt.api_jws import PyJWS

from idp.crypto.decoding import DECODER, Segments
from idp.crypto.jwts import BadToken, sign, verify
from idp.crypto.keys import KeyRing, ensure_keys, load_keys

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

SEGMENTS = [
    b"eyJhbGciOiJFUzI1NiJ9",  # a header
    b"",
    b"QQ",  # "A"
    b"QR",  # "A" with stray bits in its last character
    b"QUI",  # "AB"
    b"QUJ",  # "AB" with stray bits
    b"QUJD",
    b"QUJDR",  # a length no encoding has
    b"Q",
    b"QQ==",  # padding PyJWT accepts
    b"QQ=",
    b"QUJD=",
    b"====",
    b"ab!c",
    b"ab+c",  # base64's alphabet, not base64url's
    b"ab/c",
    b"ab c",
    b"ab\nc",
    b"ab.c",
    b"QUJD\x00",
    "Ωmega".encode(),
    b"-_-_",
]


@pytest.mark.parametrize("segment", SEGMENTS, ids=[repr(s) for s in SEGMENTS])
def test_a_segment_is_decoded_or_refused_as_pyjwt_itself_does(segment):
    assert _outcome(Segments._decode_base64url_segment, segment) == _outcome(PyJWS._decode_base64url_segment, segment)


def _outcome(decode, segment: bytes) -> tuple[str, object]:
    try:
        return ("decoded", decode(segment, "payload"))
    except pyjwt.DecodeError as exc:
        return ("refused", str(exc))


def test_the_decoder_still_replaces_a_check_pyjwt_makes():
    """An upgrade of PyJWT that renames its check would leave ours unused: this says so."""
    assert "_decode_base64url_segment" in vars(PyJWS)
    assert isinstance(DECODER._jws, Segments)


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> KeyRing:
    path = tmp_path_factory.mktemp("k")
    ensure_keys(path)
    return load_keys(path)


def _verify(token: str, ring: KeyRing) -> dict:
    here = "https://idp.test"
    return verify(token, ring, typ="at+jwt", issuer=here, audience=here, now=1000, leeway=60)


def test_a_signature_with_stray_bits_in_its_last_character_is_refused(ring):
    """An ES256 signature is 64 bytes in 86 characters: the last character's four low bits carry
    nothing, so changing them decodes to the same signature. The token is still not ours."""
    claims = {"iss": "https://idp.test", "aud": "https://idp.test", "sub": "s", "iat": 1000, "exp": 1300}
    good = sign(claims, ring.signer("ES256"), "at+jwt")
    assert _verify(good, ring)["sub"] == "s"
    last = _ALPHABET.index(good[-1])
    changed = _ALPHABET[(last & ~0xF) | ((last + 1) & 0xF)]

    with pytest.raises(BadToken):
        _verify(good[:-1] + changed, ring)


@pytest.mark.parametrize("junk", ["+", "/", "!", " ", "é"])
def test_a_token_with_a_character_outside_base64url_in_its_payload_is_refused(ring, junk):
    claims = {"iss": "https://idp.test", "aud": "https://idp.test", "sub": "s", "iat": 1000, "exp": 1300}
    header, payload, signature = sign(claims, ring.signer("ES256"), "at+jwt").split(".")

    with pytest.raises(BadToken):
        _verify(f"{header}.{payload[:10]}{junk}{payload[11:]}.{signature}", ring)


@pytest.mark.parametrize("prefix", [b"", b"Q", b"QU", b"QUJ", b"QUJDRE", b"QUJDREVG"])
def test_every_last_character_after_every_partial_group_is_judged_as_pyjwt_judges_it(prefix):
    """The last character decides whether a segment is the canonical encoding (its unused low bits
    must be zero): all 64 of them, after 0 to 3 characters of a group."""
    for last in _ALPHABET.encode():
        segment = prefix + bytes([last])
        ours = _outcome(Segments._decode_base64url_segment, segment)
        assert ours == _outcome(PyJWS._decode_base64url_segment, segment), segment
