"""Secrets at rest (TOTP seeds) sealed with a key that lives in the keys folder, not in the database.

A copy of the database alone then reveals neither the seeds nor, through `mac`, the 6-digit and
recovery codes: a bare SHA-256 of a 6-digit code is reversed by trying all million values, a keyed
MAC is not. The key file is `sealing.key`, never `*.pem`, so the signing-key loader passes it by.

Sealed text is `v1.<nonce>.<ciphertext and tag>` in base64url. The caller's `context` (the citizen's
id, say) is authenticated with it, so a sealed value copied into another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idp.crypto.opaque import b64url
from idp.crypto.randomness import RandomSource, SystemRandom
from idp.errors import IdpError

__all__ = ["KEY_FILE", "SealError", "SecretBox"]

log = logging.getLogger(__name__)

KEY_FILE = "sealing.key"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
VERSION = "v1"
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class SealError(IdpError):
    """A sealed value did not open: tampered, sealed for another context, or under another key.

    The three are deliberately not told apart.
    """


def _b64url_decode(text: str) -> bytes:
    """Strict base64url: one text per byte string, so changing any character changes the bytes."""
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _associated_data(context: str) -> bytes:
    return f"{VERSION}\x00{context}".encode()


class SecretBox:
    """AES-256-GCM sealing and HMAC-SHA256 digests under one key held outside the database."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the sealing key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        # A separate subkey, so a MAC value can never double as anything the AES key produced.
        self._mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mac").derive(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @classmethod
    def load_or_create(cls, keys_dir: Path, rng: RandomSource | None = None) -> SecretBox:
        """Load `sealing.key`, or write a new one (0600) if the folder has none.

        The new key is written under a unique temporary name and then hard-linked into place: the
        link fails if the file already exists, so two workers starting together agree on one key
        and neither ever reads a half-written file.
        """
        keys_dir.mkdir(parents=True, exist_ok=True)
        path = keys_dir / KEY_FILE
        if not path.exists():
            _write_new_key(path, (rng or SystemRandom()).token_bytes(KEY_BYTES))
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("%s is readable by others (mode %o): it should be 0600", path, mode)
        try:
            key = _b64url_decode(path.read_text(encoding="ascii").strip())
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"{path} does not hold a base64url key") from None
        return cls(key)

    def seal(self, plaintext: str, context: str) -> str:
        # The nonce comes from the OS on purpose, never from an injected (possibly seeded) source:
        # one repeated nonce under GCM leaks the authentication key.
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _associated_data(context))
        return f"{VERSION}.{b64url(nonce)}.{b64url(ciphertext)}"

    def unseal(self, sealed: str, context: str) -> str:
        parts = sealed.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise SealError("not a sealed value")
        try:
            nonce = _b64url_decode(parts[1])
            ciphertext = _b64url_decode(parts[2])
        except ValueError:
            raise SealError("not a sealed value") from None
        if len(nonce) != NONCE_BYTES or len(ciphertext) < TAG_BYTES:
            raise SealError("not a sealed value")
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, _associated_data(context))
        except InvalidTag:
            raise SealError("the sealed value does not open with this key and context") from None
        return plaintext.decode("utf-8")

    def mac(self, label: str, value: str) -> str:
        """A keyed digest of a low-entropy value; `label` keeps digests of different kinds apart."""
        encoded_label = label.encode("utf-8")
        message = len(encoded_label).to_bytes(4, "big") + encoded_label + value.encode("utf-8")
        return b64url(hmac.new(self._mac_key, message, hashlib.sha256).digest())

    def mac_matches(self, label: str, value: str, expected: str) -> bool:
        return hmac.compare_digest(self.mac(label, value).encode("ascii"), expected.encode("utf-8"))


def _write_new_key(path: Path, key: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(b64url(key) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return
        log.warning("generated a new sealing key in %s", path)
    finally:
        temporary.unlink(missing_ok=True)
