"""The only module that touches PyJWT and `cryptography`: the rest of the SDK calls these named
recipes, so the algorithm allow-list and key/algorithm pinning are enforced in one place."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from .defaults import ALLOWED_SIGNING_ALGORITHMS
from .errors import ConfigurationError, InvalidSignature, TokenValidationError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_PRIVATE_TYPES = (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)
_PUBLIC_TYPES = (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey)
_MIN_RSA_BITS = 2048
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
"""RFC 7638 §3.2 (EC, RSA) and RFC 8037 §2 (OKP): the required public members, the only ones a
thumbprint or a DPoP header's `jwk` carries."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def normalise_typ(value: str) -> str:
    """RFC 8725 §3.11 / RFC 7515 §4.1.9: compared case-insensitively, `application/` optional."""
    lowered = value.lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


def read_header(token: str, allowed: Sequence[str] = ALLOWED_SIGNING_ALGORITHMS) -> dict[str, Any]:
    """Decode the protected header and refuse, before any key is looked up, what must never be
    verified: a non-allow-listed `alg` (`none`, HS*) or a `crit` extension we don't implement."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise TokenValidationError("not a compact JWS", code="malformed_token")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, UnicodeDecodeError):
        raise TokenValidationError("header is not base64url JSON", code="malformed_token") from None
    if not isinstance(header, dict):
        raise TokenValidationError("header is not a JSON object", code="malformed_token")
    alg = header.get("alg")
    if alg not in allowed:
        raise InvalidSignature(f"algorithm {alg!r} is not allowed", code="unsupported_alg")
    if "crit" in header:
        raise TokenValidationError("critical header extensions are not supported", code="unsupported_crit")
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise TokenValidationError("typ header is not a string", code="invalid_typ")
    return header


@dataclass(frozen=True)
class VerificationKey:
    """A provider public key from its JWKS, with what it may verify pinned."""

    kid: str | None
    kty: str
    alg: str | None
    key: PublicKey

    def allows(self, alg: str) -> bool:
        if self.alg is not None and self.alg != alg:
            return False
        if alg == "ES256":
            return isinstance(self.key, ec.EllipticCurvePublicKey) and self.key.curve.name == "secp256r1"
        if alg in ("RS256", "PS256"):
            return isinstance(self.key, rsa.RSAPublicKey)
        if alg == "EdDSA":
            return isinstance(self.key, ed25519.Ed25519PublicKey)
        return False


def verification_key_from_jwk(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """Parse one JWKS entry; keys we would never use (encryption keys, symmetric, private parts,
    weak RSA, other curves) are skipped rather than failing the whole set."""
    if jwk.get("use", "sig") != "sig" or "d" in jwk:
        return None
    kty = jwk.get("kty")
    alg = jwk.get("alg")
    if alg is not None and alg not in ALLOWED_SIGNING_ALGORITHMS:
        return None
    kid = jwk.get("kid")
    try:
        if kty == "EC" and jwk.get("crv") == "P-256":
            key: Any = ECAlgorithm.from_jwk(dict(jwk))
        elif kty == "RSA":
            key = RSAAlgorithm.from_jwk(dict(jwk))
        elif kty == "OKP" and jwk.get("crv") == "Ed25519":
            key = OKPAlgorithm.from_jwk(dict(jwk))
        else:
            return None
    except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
        return None
    if not isinstance(key, _PUBLIC_TYPES):
        return None
    return VerificationKey(kid=kid if isinstance(kid, str) else None, kty=str(kty), alg=alg, key=key)


def verify_signature(token: str, key: VerificationKey, alg: str) -> dict[str, Any]:
    """Check the signature with exactly one algorithm, then return the payload as a JSON object."""
    if alg not in ALLOWED_SIGNING_ALGORITHMS or not key.allows(alg):
        raise InvalidSignature(f"key {key.kid!r} may not verify {alg}", code="unsupported_alg")
    try:
        decoded = jwt.api_jws.PyJWS().decode_complete(token, key=key.key, algorithms=[alg])
    except jwt.InvalidSignatureError:
        raise InvalidSignature("signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise TokenValidationError(f"token rejected: {exc}", code="malformed_token") from None
    try:
        claims = json.loads(decoded["payload"])
    except (ValueError, UnicodeDecodeError):
        raise TokenValidationError("payload is not JSON", code="malformed_token") from None
    if not isinstance(claims, dict):
        raise TokenValidationError("payload is not a JSON object", code="malformed_token")
    return claims


def left_half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 `at_hash`: the left half of the hash the JWS algorithm uses: SHA-256
    for ES256, RS256 and PS256, SHA-512 for EdDSA (Ed25519 hashes with SHA-512; what the OpenID
    Foundation's conformance suite expects)."""
    if alg not in ALLOWED_SIGNING_ALGORITHMS:
        raise TokenValidationError(f"no hash defined for {alg!r}", code="unsupported_alg")
    data = value.encode("ascii")
    digest = hashlib.sha512(data).digest() if alg == "EdDSA" else hashlib.sha256(data).digest()
    return b64url_encode(digest[: len(digest) // 2])


def load_private_key(key: PrivateKey | str | bytes) -> PrivateKey:
    """Parse a PEM once: handing PyJWT a PEM string makes it re-parse on every signature."""
    if isinstance(key, _PRIVATE_TYPES):
        return key
    data = key.encode("ascii") if isinstance(key, str) else key
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigurationError("private key is not an unencrypted PEM key") from None
    if not isinstance(loaded, _PRIVATE_TYPES):
        raise ConfigurationError("private key must be EC P-256, RSA or Ed25519")
    return loaded


def generate_private_key(alg: str = "ES256") -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ConfigurationError(f"cannot generate a key for {alg!r}")


def private_key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def default_algorithm(key: PrivateKey, *, rsa_algorithm: str = "RS256") -> str:
    """The algorithm a key signs with unless told otherwise: one per key type, except RSA, where
    the caller says which (RS256 for client assertions of a standard portal, the most widely
    accepted; PS256 where RS256 is refused: DPoP proofs, FAPI 2.0)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp256r1":
            raise ConfigurationError("EC keys must use the P-256 curve (ES256)")
        return "ES256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if key.key_size < _MIN_RSA_BITS:
        raise ConfigurationError(f"RSA keys must have at least {_MIN_RSA_BITS} bits")
    return rsa_algorithm


def key_algorithms(key: PrivateKey) -> tuple[str, ...]:
    """The allow-listed algorithms a private key can sign with (after `default_algorithm` vetted it)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ("ES256",)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ("EdDSA",)
    return ("RS256", "PS256")


def _to_jwk(key: PrivateKey | PublicKey) -> dict[str, Any]:
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return dict(ECAlgorithm.to_jwk(key, as_dict=True))
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return dict(OKPAlgorithm.to_jwk(key, as_dict=True))
    return dict(RSAAlgorithm.to_jwk(key, as_dict=True))


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256), used as `kid`."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(key: PrivateKey | PublicKey, alg: str, kid: str | None = None) -> dict[str, Any]:
    """The public half as a JWK with `kid` (its thumbprint unless given), `alg` and `use`."""
    public = key.public_key() if isinstance(key, _PRIVATE_TYPES) else key
    jwk = _to_jwk(public)
    jwk.pop("key_ops", None)
    jwk["kid"] = kid or thumbprint(jwk)
    jwk["alg"] = alg
    jwk["use"] = "sig"
    return jwk


def sign(
    claims: Mapping[str, Any],
    key: PrivateKey,
    alg: str,
    *,
    kid: str | None,
    typ: str = "JWT",
) -> str:
    headers: dict[str, Any] = {"typ": typ}
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(dict(claims), key, algorithm=alg, headers=headers)


def sign_dpop_proof(claims: Mapping[str, Any], key: PrivateKey, alg: str) -> str:
    """RFC 9449 §4.2: `typ: dpop+jwt` and the public key itself in the header (no `kid`)."""
    jwk = public_jwk(key, alg)
    header_jwk = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    return jwt.encode(dict(claims), key, algorithm=alg, headers={"typ": "dpop+jwt", "jwk": header_jwk})


def private_jwk(key: PrivateKey, alg: str) -> dict[str, Any]:
    """The whole key as a JWK, for a server-side session store that keeps JSON."""
    jwk = _to_jwk(key)
    jwk["alg"] = alg
    return jwk


def private_key_from_jwk(jwk: Mapping[str, Any]) -> PrivateKey:
    try:
        if jwk.get("kty") == "EC":
            key: Any = ECAlgorithm.from_jwk(dict(jwk))
        elif jwk.get("kty") == "RSA":
            key = RSAAlgorithm.from_jwk(dict(jwk))
        elif jwk.get("kty") == "OKP":
            key = OKPAlgorithm.from_jwk(dict(jwk))
        else:
            raise ConfigurationError("a DPoP key must be EC, RSA or Ed25519")
    except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
        raise ConfigurationError("stored DPoP key is not a private JWK") from None
    if not isinstance(key, _PRIVATE_TYPES):
        raise ConfigurationError("stored DPoP key is not a private key")
    return key


def sha256_b64url(value: str) -> str:
    return b64url_encode(hashlib.sha256(value.encode("ascii")).digest())
