"""Opaque secrets (codes, refresh tokens, session ids, client secrets) and their digests.

These values carry at least 256 bits of entropy, so a SHA-256 digest is enough at rest: an
argon2 check here would cap the token endpoint at a few dozen requests a second.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from idp.crypto.randomness import RandomSource


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_token(rng: RandomSource, nbytes: int = 32) -> str:
    return b64url(rng.token_bytes(nbytes))


def digest(value: str) -> str:
    """SHA-256 of a high-entropy secret, hex; what the store keeps instead of the secret."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def matches(value: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(value), expected_digest)


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def pkce_s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def derive(secret: str, label: str) -> str:
    """A value bound to `secret` for one purpose (the CSRF token of an interaction, say)."""
    return b64url(hmac.new(secret.encode("utf-8"), label.encode("utf-8"), hashlib.sha256).digest())
