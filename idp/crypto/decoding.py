"""The PyJWT objects every JWT the provider reads goes through.

PyJWT (2.15) checks each segment of a token against the base64url alphabet one
character at a time, in a Python generator, before decoding it: for an access token of ~640
characters that loop was ~15% of a userinfo's instructions (`bench/instructions.py userinfo
--keep`), more than the database read. `Segments` makes the same check in C (`bytes.translate`)
for the segments that pass it, and hands every other segment (padding, a character outside the
alphabet, an impossible length) to PyJWT's own code, so what is refused, and the error it is
refused with, stay PyJWT's. Everything else (JSON, headers, signatures, claims) is PyJWT's.
"""

from __future__ import annotations

import binascii

import jwt
from jwt.api_jws import PyJWS
from jwt.utils import base64url_decode

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Each alphabet byte's 6-bit value, and the bits of a segment's last character that carry no data,
# by the segment's length modulo 4 (1 never gets here: no encoding has that length).
_VALUE = bytes(_ALPHABET.find(bytes([b])) % 64 for b in range(256))
_STRAY = (0, 0, 0b1111, 0b11)


class Segments(PyJWS):
    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        if segment.translate(None, _ALPHABET) or len(segment) % 4 == 1:
            return PyJWS._decode_base64url_segment(segment, name)
        # Every byte in the alphabet, no padding: what PyJWT's loop would pass. Its remaining
        # rule, kept: the segment must be the canonical encoding of what it decodes to, which
        # PyJWT checks by encoding it again. Only a last character that ends a partial group
        # can differ (its low 4 bits after one byte, its low 2 after two carry nothing): those
        # bits are looked at instead of encoding the whole segment again.
        if segment and _STRAY[len(segment) % 4] & _VALUE[segment[-1]]:
            raise jwt.DecodeError(f"Invalid {name} padding")
        try:
            return base64url_decode(segment)
        except (TypeError, binascii.Error) as err:
            raise jwt.DecodeError(f"Invalid {name} padding") from err


class _Decoder(jwt.PyJWT):
    def __init__(self) -> None:
        super().__init__()
        self._jws = Segments(options=self._jws.options)  # the options PyJWT gave its own


DECODER = _Decoder()
"""For `decode` (what `jwt.decode` does, with `Segments`)."""

HEADERS = DECODER._jws
"""For `get_unverified_header` (what `jwt.get_unverified_header` does, with `Segments`)."""
