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
from jwt.utils import base64url_decode, base64url_encode

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Segments(PyJWS):
    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        if segment.translate(None, _ALPHABET) or len(segment) % 4 == 1:
            return PyJWS._decode_base64url_segment(segment, name)
        # Every byte in the alphabet, no padding: what PyJWT's loop would pass. Its remaining
        # rule, kept: the segment must be the canonical encoding of what it decodes to (no
        # stray bits in its last character).
        try:
            decoded = base64url_decode(segment)
        except (TypeError, binascii.Error) as err:
            raise jwt.DecodeError(f"Invalid {name} padding") from err
        if base64url_encode(decoded) != segment:
            raise jwt.DecodeError(f"Invalid {name} padding")
        return decoded


class _Decoder(jwt.PyJWT):
    def __init__(self) -> None:
        super().__init__()
        self._jws = Segments(options=self._jws.options)  # the options PyJWT gave its own


DECODER = _Decoder()
"""For `decode` (what `jwt.decode` does, with `Segments`)."""

HEADERS = DECODER._jws
"""For `get_unverified_header` (what `jwt.get_unverified_header` does, with `Segments`)."""
