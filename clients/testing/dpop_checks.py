"""DPoP proofs (RFC 9449) as the real provider checks them at /token, /par and /userinfo: the checks
the SDK must pass in production, so a portal that skips one fails here first.

A proof is a `dpop+jwt` signed with ES256, PS256 or EdDSA by the public key in its header; it names
this request (`htm`, `htu` built from the issuer), is fresh (`iat` within a minute), is used once
(`jti`), carries `ath` at a resource, and the server's nonce unless the mock was told not to ask.
`check_proof` is the checks alone; `request_proof_key` applies them to one request with the
provider's nonce and its record of spent proofs, for /par, /token and /userinfo alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt

from .._jose import b64url_encode
from .messages import MockRequest, OAuthFailure, endpoint_url

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["ALGS", "PROOF_MAX_AGE", "ProofRefused", "check_proof", "request_proof_key"]

ALGS = ("ES256", "PS256", "EdDSA")
PROOF_MAX_AGE = 60  # seconds, as the provider's DPOP_PROOF_MAX_AGE
_DECODE_OPTIONS: Any = {
    "verify_exp": False,
    "verify_iat": False,
    "verify_aud": False,
    "require": ["jti", "htm", "htu", "iat"],
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class ProofRefused(Exception):
    """`error` is `invalid_dpop_proof` or `use_dpop_nonce` (RFC 9449 §7.1, §8)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def check_proof(
    proof: str,
    *,
    method: str,
    url: str,
    now: float,
    nonce: str | None,
    seen: Callable[[str], bool],
    access_token: str | None = None,
) -> str:
    """The proof key's thumbprint (`jkt`). `nonce` is the one the server expects (None: any or none);
    `seen(key)` records a jti and says whether it was already used."""
    try:
        header = jwt.get_unverified_header(proof)
        if header.get("typ") != "dpop+jwt":
            raise ProofRefused("invalid_dpop_proof", "typ must be dpop+jwt")
        alg = header.get("alg")
        jwk = header.get("jwk")
        if alg not in ALGS:
            raise ProofRefused("invalid_dpop_proof", "the proof's alg is not allowed")
        if not isinstance(jwk, dict) or _PRIVATE_MEMBERS & set(jwk):
            raise ProofRefused("invalid_dpop_proof", "the proof must carry a public jwk")
        key = jwt.PyJWK(jwk, algorithm=alg)
        claims: dict[str, Any] = jwt.decode(
            proof,
            key.key,
            algorithms=[alg],
            options=_DECODE_OPTIONS,
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise ProofRefused("invalid_dpop_proof", f"the DPoP proof is invalid: {exc}") from None
    if claims["htm"] != method:
        raise ProofRefused("invalid_dpop_proof", "htm does not match the request method")
    if str(claims["htu"]).split("?", 1)[0].split("#", 1)[0] != url:
        raise ProofRefused("invalid_dpop_proof", "htu does not match the request URL")
    iat = claims["iat"]
    if not isinstance(iat, int) or not now - PROOF_MAX_AGE <= iat <= now + PROOF_MAX_AGE:
        raise ProofRefused("invalid_dpop_proof", "iat is not recent")
    if access_token is not None:
        expected = b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())
        if claims.get("ath") != expected:
            raise ProofRefused("invalid_dpop_proof", "ath does not match the access token")
    if nonce is not None and claims.get("nonce") != nonce:
        raise ProofRefused("use_dpop_nonce", "the DPoP proof must carry the server's nonce")
    jkt = _thumbprint(jwk)
    if seen(f"{jkt}:{claims['jti']}"):
        raise ProofRefused("invalid_dpop_proof", "the DPoP proof was already used")
    return jkt


def request_proof_key(
    provider: MockProvider, request: MockRequest, path: str, access_token: str | None = None
) -> str | None:
    """The proof's key thumbprint, or None without a proof; a refused proof is the client's 400
    (at a resource, the caller turns it into a 401 challenge) with the nonce to use."""
    proof = request.headers.get("dpop")
    if not proof:
        return None
    used = provider._ledger.used_proofs

    def seen(key: str) -> bool:
        if key in used:
            return True
        used.add(key)
        return False

    try:
        return check_proof(
            proof,
            method=request.method,
            url=endpoint_url(provider.issuer, path),
            now=provider.clock(),
            nonce=provider.dpop_nonce,
            seen=seen,
            access_token=access_token,
        )
    except ProofRefused as refused:
        headers = {"dpop-nonce": provider.dpop_nonce} if provider.dpop_nonce else {}
        raise OAuthFailure(refused.error, refused.description, 400, headers) from None


_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3.2 over the key type's required members (EdDSA keys are OKP)."""
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())
