"""Signing and verifying the provider's own JWTs.

Verification pins the algorithm to the one the `kid` was generated for, so `none`, HMAC
and algorithm confusion can never pass; each token type names its `typ`; unknown `crit`
headers are refused. Time claims are checked here against the injected clock, not by
PyJWT (which would read the system time).
"""

from __future__ import annotations

import hashlib
from typing import Any

import jwt

from idp.crypto.bounded import Bounded
from idp.crypto.decoding import DECODER, HEADERS
from idp.crypto.encoding import encode
from idp.crypto.keys import KeyRing, SigningKey
from idp.crypto.opaque import b64url
from idp.errors import IdpError

TYP_ID_TOKEN = "JWT"
TYP_ACCESS_TOKEN = "at+jwt"
TYP_LOGOUT_TOKEN = "logout+jwt"


class BadToken(IdpError):
    """The token is malformed, wrongly signed, of another type, or outside its lifetime."""


def check_not_before(claims: dict[str, Any], now: int, leeway: int) -> None:
    """RFC 7519 §4.1.5 and RFC 7523 §3 (MUST reject): a token whose `nbf` is still ahead, beyond the
    clock leeway, is not valid yet. PyJWT's own check reads the system clock, so it is off and this one
    runs on the injected clock for every JWT the provider accepts."""
    if "nbf" not in claims:
        return
    nbf = claims["nbf"]
    if isinstance(nbf, bool) or not isinstance(nbf, int | float):
        raise BadToken("nbf must be a number")
    if nbf > now + leeway:
        raise BadToken("not valid yet (nbf)")


def sign(claims: dict[str, Any], key: SigningKey, typ: str) -> str:
    return encode(claims, key, typ)


def token_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: left half of the hash that matches the signing algorithm."""
    if alg not in ("ES256", "RS256", "PS256"):
        raise ValueError(f"no hash defined here for {alg}")
    half = hashlib.sha256(value.encode("ascii")).digest()[:16]
    return b64url(half)


# Headers read before the signature is checked, by their encoded segment. Our tokens carry a
# handful of distinct headers (one per key and `typ`), and reading one means decoding the whole
# token once more: PyJWT's `get_unverified_header` loads every segment. Kept, a userinfo took
# 1,806 k instructions; read each time, 1,934 k (and before `decoding.Segments`, about a quarter
# more). Bounded, the oldest entry leaving first; only headers PyJWT parsed are kept, and the
# full token is still decoded, every character checked, by `DECODER.decode` below.
_HEADERS_KEPT = 64
_HEADERS: Bounded[str, dict[str, Any]] = Bounded(_HEADERS_KEPT)
_HEADER_SEGMENT_MAX = 512


def _unverified_header(token: str) -> dict[str, Any]:
    """`token`'s header, not to be changed by the caller (it may be shared)."""
    segment = token.partition(".")[0]
    header = _HEADERS.get(segment)
    if header is None:
        header = HEADERS.get_unverified_header(token)
        if len(segment) <= _HEADER_SEGMENT_MAX:
            _HEADERS.keep(segment, header)
    return header


def _our_key(token: str, keys: KeyRing, typ: str) -> SigningKey:
    """The key of ours that `token`'s header names, with its `typ` as expected and the algorithm the
    key was generated for: `none`, HMAC and algorithm confusion never reach a signature check."""
    try:
        header = _unverified_header(token)
    except jwt.PyJWTError as exc:
        raise BadToken(f"malformed: {exc}") from None
    if header.get("crit"):
        raise BadToken("unknown critical header")
    if header.get("typ") != typ:
        raise BadToken(f"typ must be {typ}")
    key = keys.find(str(header.get("kid", "")))
    if key is None:
        raise BadToken("unknown kid")
    if header.get("alg") != key.alg:
        raise BadToken("algorithm does not match the key")
    return key


def verify(
    token: str,
    keys: KeyRing,
    *,
    typ: str,
    issuer: str,
    audience: str,
    now: int,
    leeway: int,
) -> dict[str, Any]:
    key = _our_key(token, keys, typ)
    try:
        claims = DECODER.decode(
            token,
            key.public_key,
            algorithms=[key.alg],
            audience=audience,
            issuer=issuer,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "aud", "exp", "iat"],
            },
        )
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from None
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise BadToken("exp and iat must be integers")
    if now >= exp + leeway:
        raise BadToken("expired")
    if iat > now + leeway:
        raise BadToken("issued in the future")
    check_not_before(claims, now, leeway)
    return claims


def verify_ignoring_expiry(
    token: str, keys: KeyRing, *, typ: str, issuer: str, now: int, leeway: int
) -> dict[str, Any]:
    """Signature, algorithm, `typ`, `iss` and `nbf`: for an `id_token_hint`, which may have expired
    (OIDC Core §3.1.2.1, RP-Initiated Logout §2) and whose audience the caller judges."""
    key = _our_key(token, keys, typ)
    try:
        claims = DECODER.decode(
            token,
            key.public_key,
            algorithms=[key.alg],
            issuer=issuer,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["iss", "sub"],
            },
        )
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from None
    check_not_before(claims, now, leeway)
    return claims


def renewed(token: str, keys: KeyRing, *, typ: str, now: int, lifetime: int) -> str:
    """The same token signed again with `iat` now and `exp` `lifetime` later, by today's key for its
    algorithm; every other claim (`jti` included) kept. Only for a token this provider signed and kept
    (a back-channel logout token waiting in the outbox): one that does not verify is refused."""
    key = _our_key(token, keys, typ)
    try:
        claims = DECODER.decode(
            token,
            key.public_key,
            algorithms=[key.alg],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from None
    claims.update(iat=now, exp=now + lifetime)
    return sign(claims, keys.signer(key.alg), typ)
