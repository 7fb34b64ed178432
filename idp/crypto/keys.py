"""Signing keys: generated on first start, loaded once, published as JWKS.

Keys live as PKCS#8 PEM files in the keys folder, one file a key, named `<alg>-<kid>.pem`.
The `kid` is the RFC 7638 thumbprint of the public key, so it is stable and verifiable.
Every key in the folder is published; the newest *active* key of each algorithm signs. Key
objects are parsed once here: handing PyJWT a PEM string would re-parse it on every signature.

Rotation (`rotate_keys`) keeps each key's status in `keys.json` beside the PEM files:
`next` (published, never signs yet), `active` (signs; the newest active one of its algorithm),
`retired` (published only, until `remove_after`, then no longer loaded). A key file that the
manifest does not name is `active` (keys written by `ensure_keys` or copied in by hand), so the
folder keeps working without a manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from idp.crypto.opaque import b64url
from idp.errors import Refusal

log = logging.getLogger(__name__)

# The one list of algorithms our keys sign with (ID tokens, access tokens, logout tokens): every
# one must have a key at start-up, discovery advertises exactly these, a portal picks among them.
# ES256 first, the default (OIDC Core §15.1 asks for RS256 support; ES256 signs ~10x faster).
SIGNING_ALGS = ("ES256", "RS256")
# The key families SIGNING_ALGS use: P-256 for ES256, RSA for RS256.
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
# OKP (RFC 8037 §2): clients' Ed25519 keys (DPoP proofs, client assertions); never one of ours.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: PrivateKey
    public_key: PublicKey
    public_jwk: dict[str, str]
    created: float
    status: str = "active"  # next | active | retired (see `rotate_keys`)
    remove_after: float | None = None  # retired keys: unpublished from then on


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, no whitespace, base64url."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _public_jwk(public_key: PublicKey, alg: str) -> dict[str, str]:
    if isinstance(public_key, ec.EllipticCurvePublicKey):  # ES256: `_alg_of` pairs each algorithm with its key family
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    public = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    public.update(kid=thumbprint(public), alg=alg, use="sig")
    return public


def _alg_of(private_key: PrivateKeyTypes) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return "RS256"
    raise ValueError("only P-256 EC keys and RSA keys of 2048 bits or more are accepted")


def _generate(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _from_private(private_key: PrivateKeyTypes, created: float) -> SigningKey:
    alg = _alg_of(private_key)
    assert isinstance(private_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))  # _alg_of refused the rest
    public_key = private_key.public_key()
    jwk = _public_jwk(public_key, alg)
    return SigningKey(jwk["kid"], alg, private_key, public_key, jwk, created)


class KeyRing:
    """The loaded keys: which one signs for each algorithm, and which verify a `kid`."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self._by_kid = {k.kid: k for k in keys}
        self._signers: dict[str, SigningKey] = {}
        for key in sorted(keys, key=lambda k: k.created):
            if key.status == "active":
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


def load_keys(keys_dir: Path, now: float | None = None) -> KeyRing:
    """Every key still published at `now` (retired keys past `remove_after` are left out)."""
    return KeyRing([k for k in _read_keys(keys_dir) if not _expired(k, _now(now))])


def _now(now: float | None) -> float:
    if now is not None:
        return now
    from idp.clock import SystemClock

    return SystemClock().now()


def _expired(key: SigningKey, now: float) -> bool:
    return key.status == "retired" and key.remove_after is not None and key.remove_after <= now


# Key files (their SHA-256) whose PEM this process has loaded and OpenSSL found consistent. For an
# RSA key that check tests p and q for primality: ~60 ms a 2048-bit key on a slow core, 17% of a
# start's instructions when it ran twice (`initialise` reads the folder, then the provider loads it,
# in the same process with one worker). The same bytes are not checked twice; a refused file never
# gets here, so it is refused again on every load.
_checked: set[bytes] = set()


def _load_private(pem: bytes) -> PrivateKeyTypes:
    digest = hashlib.sha256(pem).digest()
    key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=digest in _checked)
    _checked.add(digest)
    return key


def _read_keys(keys_dir: Path) -> list[SigningKey]:
    manifest = read_manifest(keys_dir)
    keys = []
    for path in sorted(keys_dir.glob("*.pem")):
        try:
            private_key = _load_private(path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"key file {path.name} does not load: {exc}") from exc
        key = _from_private(private_key, path.stat().st_mtime)
        entry = manifest.get(key.kid)
        if entry:
            key = replace(
                key,
                created=float(entry.get("activated_at") or entry.get("created_at") or key.created),
                status=str(entry.get("status", "active")),
                remove_after=entry.get("remove_after"),
            )
        keys.append(key)
    return keys


# -- rotation ------------------------------------------------------------------------------------

MANIFEST = "keys.json"


@dataclass(frozen=True)
class KeyInfo:
    """One key as `idp keys list` and the console show it (never the private part)."""

    kid: str
    alg: str
    status: str  # next | active | retired | expired
    created_at: float | None
    activated_at: float | None
    retired_at: float | None
    remove_after: float | None
    signing: bool


class RotationRefused(Refusal):
    """The `next` key has not been published long enough to sign (relying parties may not have it)."""

    status_code = 409
    error = "too_soon"

    def __init__(self, alg: str, ready_at: float) -> None:
        super().__init__(f"the next {alg} key may sign from {int(ready_at)}")
        self.alg = alg
        self.ready_at = ready_at


def read_manifest(keys_dir: Path) -> dict[str, dict[str, Any]]:
    path = keys_dir / MANIFEST
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): dict(v) for k, v in data.get("keys", {}).items()}


def _write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)


def _write_manifest(keys_dir: Path, manifest: dict[str, dict[str, Any]]) -> None:
    body = json.dumps({"keys": manifest}, indent=2, sort_keys=True).encode()
    _write_atomically(keys_dir / MANIFEST, body, 0o644)


def list_keys(keys_dir: Path, now: float | None = None) -> list[KeyInfo]:
    at = _now(now)
    manifest = read_manifest(keys_dir)
    all_keys = _read_keys(keys_dir)
    ring = KeyRing([k for k in all_keys if not _expired(k, at)])
    rows = []
    for key in sorted(all_keys, key=lambda k: (k.alg, -k.created)):
        entry = manifest.get(key.kid, {})
        status = "expired" if _expired(key, at) else key.status
        signing = ring._signers.get(key.alg) is not None and ring._signers[key.alg].kid == key.kid
        rows.append(
            KeyInfo(
                key.kid,
                key.alg,
                status,
                entry.get("created_at", key.created),
                entry.get("activated_at", key.created if key.status == "active" else None),
                entry.get("retired_at"),
                key.remove_after,
                signing,
            )
        )
    return rows


def rotate_keys(
    keys_dir: Path, alg: str, *, now: float, publish_for: float, keep_for: float, force: bool = False
) -> dict[str, Any]:
    """One rotation step for `alg`.

    With a `next` key published at least `publish_for` seconds (the relying parties' JWKS cache
    time), that key becomes active, the active one retires (published until `keep_for` seconds
    from now: the longest token lifetime plus the cache time), and a fresh `next` key is
    published. Without a `next` key, one is generated and published: it signs from the next
    rotation on. A key is therefore always published before it signs. `force` skips the wait.
    """
    if alg not in SIGNING_ALGS:
        raise ValueError(f"unknown algorithm {alg}")
    keys_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(keys_dir)
    present = [k for k in _read_keys(keys_dir) if k.alg == alg]
    for key in present:  # keys the manifest does not know yet are active keys from before
        manifest.setdefault(
            key.kid, {"alg": alg, "status": "active", "created_at": key.created, "activated_at": key.created}
        )
    waiting = [k for k in present if manifest[k.kid]["status"] == "next"]
    result: dict[str, Any] = {"alg": alg, "activated": None, "retired": [], "published": None}
    if waiting:
        candidate = max(waiting, key=lambda k: float(manifest[k.kid].get("created_at") or 0))
        ready_at = float(manifest[candidate.kid].get("created_at") or 0) + publish_for
        if ready_at > now and not force:
            raise RotationRefused(alg, ready_at)
        for key in present:
            entry = manifest[key.kid]
            if entry["status"] == "active":
                entry.update(status="retired", retired_at=now, remove_after=now + keep_for)
                result["retired"].append(key.kid)
        manifest[candidate.kid].update(status="active", activated_at=now)
        result["activated"] = candidate.kid
    fresh = _from_private(_generate(alg), now)
    manifest[fresh.kid] = {"alg": alg, "status": "next", "created_at": now}
    # The manifest first: a reload triggered by the new file must already know it is `next`.
    _write_manifest(keys_dir, manifest)
    pem = fresh.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_atomically(keys_dir / f"{alg.lower()}-{fresh.kid}.pem", pem)
    result["published"] = fresh.kid
    for key in _read_keys(keys_dir):  # retired keys past their time leave the folder
        if _expired(key, now):
            for path in keys_dir.glob(f"*-{key.kid}.pem"):
                path.unlink(missing_ok=True)
            manifest.pop(key.kid, None)
            result.setdefault("removed", []).append(key.kid)
    if result.get("removed"):
        _write_manifest(keys_dir, manifest)
    return result


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
