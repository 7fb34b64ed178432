"""Signing keys: generated on first start, loaded once, published as JWKS.

Keys live as PKCS#8 PEM files in the keys folder, one file a key, named `<alg>-<kid>.pem`.
The `kid` is the RFC 7638 thumbprint of the public key, so it is stable and verifiable.
Every key in the folder is published; the newest key of each algorithm signs. Key objects
are parsed once here: handing PyJWT a PEM string would re-parse it on every signature.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from idp.crypto.opaque import b64url

log = logging.getLogger(__name__)

SIGNING_ALGS = ("ES256", "RS256")
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: Any
    public_key: Any
    public_jwk: dict[str, str]
    created: float


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace, base64url."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _public_jwk(public_key: Any, alg: str) -> dict[str, str]:
    if alg == "ES256":
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    public = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    public.update(kid=thumbprint(public), alg=alg, use="sig")
    return public


def _alg_of(private_key: Any) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return "RS256"
    raise ValueError("only P-256 EC keys and RSA keys of 2048 bits or more are accepted")


def _generate(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _from_private(private_key: Any, created: float) -> SigningKey:
    alg = _alg_of(private_key)
    public_key = private_key.public_key()
    jwk = _public_jwk(public_key, alg)
    return SigningKey(jwk["kid"], alg, private_key, public_key, jwk, created)


class KeyRing:
    """The loaded keys: which one signs for each algorithm, and which verify a `kid`."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self._by_kid = {k.kid: k for k in keys}
        self._signers: dict[str, SigningKey] = {}
        for key in sorted(keys, key=lambda k: k.created):
            self._signers[key.alg] = key
        ordered = sorted(keys, key=lambda k: (k.alg, -k.created))
        self.jwks_bytes = json.dumps({"keys": [k.public_jwk for k in ordered]}, separators=(",", ":")).encode()

    def signer(self, alg: str) -> SigningKey:
        try:
            return self._signers[alg]
        except KeyError:
            raise LookupError(f"no {alg} signing key loaded") from None

    def find(self, kid: str) -> SigningKey | None:
        return self._by_kid.get(kid)

    @property
    def keys(self) -> list[SigningKey]:
        return list(self._by_kid.values())

    @property
    def algorithms(self) -> list[str]:
        return sorted(self._signers)


def load_keys(keys_dir: Path) -> KeyRing:
    keys = []
    for path in sorted(keys_dir.glob("*.pem")):
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        keys.append(_from_private(private_key, path.stat().st_mtime))
    return KeyRing(keys)


def ensure_keys(keys_dir: Path) -> list[str]:
    """Generate an ES256 and an RS256 key when the folder has none of that algorithm.

    Returns the names of the files it wrote (empty when nothing was missing), so the caller
    can announce generated development keys loudly.
    """
    keys_dir.mkdir(parents=True, exist_ok=True)
    present = {k.alg for k in load_keys(keys_dir).keys}
    written = []
    for alg in SIGNING_ALGS:
        if alg in present:
            continue
        key = _from_private(_generate(alg), 0.0)
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = keys_dir / f"{alg.lower()}-{key.kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        written.append(path.name)
        log.warning("generated a new %s signing key %s in %s", alg, key.kid, keys_dir)
    return written
