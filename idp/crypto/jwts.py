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

from idp.crypto.keys import KeyRing, SigningKey
from idp.crypto.opaque import b64url
from idp.errors import IdpError

TYP_ID_TOKEN = "JWT"
TYP_ACCESS_TOKEN = "at+jwt"
TYP_LOGOUT_TOKEN = "logout+jwt"


class BadToken(IdpError):
    """The token is malformed, wrongly signed, of another type, or outside its lifetime."""


def sign(claims: dict[str, Any], key: SigningKey, typ: str) -> str:
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})


def token_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: left half of the hash that matches the signing algorithm."""
    if alg not in ("ES256", "RS256", "PS256"):
        raise ValueError(f"no hash defined here for {alg}")
    half = hashlib.sha256(value.encode("ascii")).digest()[:16]
    return b64url(half)


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
    try:
        header = jwt.get_unverified_header(token)
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
    try:
        claims = jwt.decode(
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
    return claims


def verify_ignoring_expiry(token: str, keys: KeyRing, *, typ: str, issuer: str) -> dict[str, Any]:
    """Signature, algorithm, `typ` and `iss` only: for an `id_token_hint`, which may have expired
    (OIDC RP-Initiated Logout §2) and whose audience is whichever portal sent the citizen."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise BadToken(f"malformed: {exc}") from None
    if header.get("crit") or header.get("typ") != typ:
        raise BadToken("unexpected header")
    key = keys.find(str(header.get("kid", "")))
    if key is None or header.get("alg") != key.alg:
        raise BadToken("unknown key or algorithm")
    try:
        return jwt.decode(
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
