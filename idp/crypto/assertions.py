"""Verifying JWTs that clients sign: `private_key_jwt` client assertions (RFC 7523 §3) and
DPoP proofs (RFC 9449 §4.3). Keys come from the client (its registered JWKS) or from the proof
itself; only asymmetric algorithms are accepted, and never a key that carries private members.

EdDSA here means Ed25519 (RFC 8037): the provider has no EdDSA signing keys of its own, but it
verifies what clients sign with one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jwt

from idp.crypto.decoding import DECODER, HEADERS
from idp.crypto.jwts import BadToken, check_not_before
from idp.crypto.keys import thumbprint
from idp.crypto.opaque import b64url

# What a FAPI 2.0 client may sign with (FAPI 2.0 Security Profile §5.4.1): no PKCS#1 v1.5 (RS256).
FAPI_ALGS = ("ES256", "PS256", "EdDSA")
# Client assertions of other clients may still be RS256 (RFC 7523 names no algorithm; portals
# registered before the FAPI profile sign with it).
ASSERTION_ALGS = (*FAPI_ALGS, "RS256")
# DPoP proofs, from every client: RFC 9449 §4.3 leaves the choice to the server, and a new
# mechanism needs no legacy algorithm, so one list serves FAPI and every other client.
DPOP_ALGS = FAPI_ALGS
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_KTY_FOR_ALG = {"ES256": "EC", "PS256": "RSA", "RS256": "RSA", "EdDSA": "OKP"}
# The curve each algorithm's key must be on: P-256 for ES256 (RFC 7518 §3.4), Ed25519 for EdDSA.
_CRV_FOR_ALG = {"ES256": "P-256", "EdDSA": "Ed25519"}


def _public_jwk(value: object, alg: str) -> dict[str, Any]:
    """`value` once it is known to be a public JWK of the family `alg` needs: a header's `jwk` is
    whatever the sender put there."""
    if not isinstance(value, dict) or _PRIVATE_MEMBERS & set(value) or value.get("kty") != _KTY_FOR_ALG[alg]:
        raise BadToken("the key is not a public key for this algorithm")
    if alg in _CRV_FOR_ALG and value.get("crv") != _CRV_FOR_ALG[alg]:
        raise BadToken("the key is not on the curve this algorithm needs")
    return value


def _public_key(jwk: dict[str, Any], alg: str) -> Any:
    _public_jwk(jwk, alg)
    try:
        return jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise BadToken(f"unusable key: {exc}") from None


def _header(token: str, algs: tuple[str, ...]) -> dict[str, Any]:
    try:
        header = HEADERS.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise BadToken(f"malformed: {exc}") from None
    if header.get("alg") not in algs:
        raise BadToken("algorithm not allowed")
    if header.get("crit"):
        raise BadToken("unknown critical header")
    return header


def assertion_kid(token: str) -> str | None:
    try:
        kid = HEADERS.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) else None


def unverified_issuer(token: str) -> str | None:
    try:
        value = DECODER.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return value if isinstance(value, str) else None


def pick_key(jwks: dict[str, Any], kid: str | None, alg: str) -> dict[str, Any] | None:
    keys = [
        k
        for k in jwks.get("keys", [])
        if isinstance(k, dict)
        and k.get("kty") == _KTY_FOR_ALG[alg]
        and k.get("crv", _CRV_FOR_ALG.get(alg)) == _CRV_FOR_ALG.get(alg)
        and k.get("use", "sig") == "sig"
        and k.get("alg", alg) == alg
    ]
    if kid is not None:
        keys = [k for k in keys if k.get("kid") == kid]
    return keys[0] if len(keys) == 1 else None


def key_ids(jwks: dict[str, Any]) -> set[str]:
    return {str(k.get("kid")) for k in jwks.get("keys", []) if isinstance(k, dict)}


def verify_client_assertion(
    assertion: str,
    jwks: dict[str, Any],
    *,
    client_id: str,
    audiences: set[str],
    now: int,
    leeway: int,
    max_lifetime: int,
    algorithms: tuple[str, ...] = ASSERTION_ALGS,
    audience_string_only: bool = False,
    ahead: int | None = None,
) -> dict[str, Any]:
    """RFC 7523 §3. `audience_string_only`: `aud` must be a single string, not an array
    (FAPI 2.0 §5.3.2.1-8). `ahead`: how far `iat` and `nbf` may be in the future (the clock
    leeway unless given; FAPI 2.0 §5.3.2.1-13 caps it at 60 s)."""
    ahead = leeway if ahead is None else ahead
    header = _header(assertion, algorithms)
    jwk = pick_key(jwks, header.get("kid"), header["alg"])
    if jwk is None:
        raise BadToken("no registered key matches the assertion")
    try:
        claims = DECODER.decode(
            assertion,
            _public_key(jwk, header["alg"]),
            algorithms=[header["alg"]],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["iss", "sub", "aud", "exp", "jti"],
            },
        )
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from None
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise BadToken("iss and sub must be the client_id")
    if audience_string_only and not isinstance(claims["aud"], str):
        raise BadToken("aud must be a single string")
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not audiences & set(map(str, audience)):
        raise BadToken(f"aud must be one of {sorted(audiences)}")
    exp = claims["exp"]
    if not isinstance(exp, int) or exp + leeway <= now:
        raise BadToken("expired")
    if exp > now + max_lifetime + leeway:
        raise BadToken(f"exp is more than {max_lifetime} s ahead")
    if "iat" in claims and (not isinstance(claims["iat"], int) or claims["iat"] > now + ahead):
        raise BadToken("issued in the future")
    check_not_before(claims, now, ahead)
    return claims


def verify_dpop_proof(
    proof: str, *, method: str, url: str, now: int, leeway: int, max_age: int, access_token: str | None = None
) -> tuple[str, dict[str, Any]]:
    """RFC 9449 §4.3: returns the JWK thumbprint (`jkt`) of the proof's key and the proof's claims.
    The caller checks the `jti` was never seen and the nonce, if it asked for one. `leeway` is how
    far `iat` and `nbf` may be ahead."""
    header = _header(proof, DPOP_ALGS)
    if header.get("typ") != "dpop+jwt":
        raise BadToken("typ must be dpop+jwt")
    jwk = _public_jwk(header.get("jwk"), header["alg"])
    key = _public_key(jwk, header["alg"])
    try:
        claims = DECODER.decode(
            proof,
            key,
            algorithms=[header["alg"]],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["jti", "htm", "htu", "iat"],
            },
        )
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from None
    if claims["htm"] != method:
        raise BadToken("htm does not match the request method")
    if _without_query(str(claims["htu"])) != _without_query(url):
        raise BadToken("htu does not match the request URL")
    iat = claims["iat"]
    if not isinstance(iat, int) or iat > now + leeway or iat < now - max_age:
        raise BadToken("iat is not recent")
    check_not_before(claims, now, leeway)
    if access_token is not None:
        expected = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if claims.get("ath") != expected:
            raise BadToken("ath does not match the access token")
    return thumbprint({k: str(v) for k, v in jwk.items()}), claims


def _without_query(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


def parse_jwks(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a portal's JWKS nested a thousand deep
        raise BadToken("the JWKS is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise BadToken("the JWKS has no keys")
    for key in value["keys"]:
        if not isinstance(key, dict) or _PRIVATE_MEMBERS & set(key):
            raise BadToken("the JWKS must hold public keys only")
    return value
