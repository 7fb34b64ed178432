"""Compact JWS for the provider's own JWTs, with PyJWT's header and PyJWT's algorithms.

`jwt.encode` cost ~404 k instructions a token where its ECDSA signature alone is ~268 k: for every
token it builds, checks, sorts, JSON-encodes and base64-encodes the same header, makes a JSON encoder
for the header and another for the payload, and checks the key against the algorithm again. The
provider's headers are a handful (one per key and `typ`), so the first token of each pair is made by
`jwt.encode` itself, whole, every check of PyJWT's included, and its header segment is kept. Every
later token of that pair reuses the segment and is signed by the same PyJWT algorithm object
`jwt.encode` uses, over the claims JSON-encoded as PyJWT encodes them (compact separators, ASCII
escapes): the token is the one `jwt.encode` would make (byte for byte for RS256, whose signature is
deterministic; `tests/unit/test_jwt_encoding.py`). `bench/instructions.py`: client_credentials
922 -> 868 k instructions a request, a code exchange (two tokens) 2,059 -> 1,946 k.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms
from jwt.utils import base64url_encode

from idp.crypto.bounded import Bounded
from idp.crypto.keys import SigningKey

# PyJWT's own objects for our algorithms (`jwt.encode` looks them up in the same table).
_ALGORITHMS = get_default_algorithms()
# What `jwt.encode` does to the claims: json.dumps(claims, separators=(",", ":")), made once.
_claims_json = json.JSONEncoder(separators=(",", ":")).encode

# Header segments by (kid, typ); the kid is the key's thumbprint, so it names one key and algorithm.
_HEADERS_KEPT = 64  # keys in rotation times token types, with room; the oldest leaves first
_HEADERS: Bounded[tuple[str, str], bytes] = Bounded(_HEADERS_KEPT)


def encode(claims: dict[str, Any], key: SigningKey, typ: str) -> str:
    header = _HEADERS.get((key.kid, typ))
    if header is None:
        token = jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})
        _HEADERS.keep((key.kid, typ), token.partition(".")[0].encode())
        return token
    signing_input = header + b"." + base64url_encode(_claims_json(claims).encode())
    signature = _ALGORITHMS[key.alg].sign(signing_input, key.private_key)
    return (signing_input + b"." + base64url_encode(signature)).decode()
