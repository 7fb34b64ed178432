"""The mock's signing keys, rotated in two steps as on the real provider (`idp keys rotate`).

A new key is first published as `next` and only signs from the following rotation, so every portal
can already verify its first token; a key that stops signing stays published (retired) until
`retire_old_keys()`. Signing with a key the moment it is made would fail the next login `unknown_kid`
at any portal whose JWKS cache is still fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._jose import PrivateKey, generate_private_key, public_jwk

__all__ = ["KeyRing", "KeyRotation", "MockKey"]


@dataclass
class MockKey:
    private: PrivateKey
    jwk: dict[str, Any]
    status: str  # next | active | retired

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])


@dataclass(frozen=True)
class KeyRotation:
    """What one rotation step did: the key that started signing (None on the first step, which only
    publishes) and the key published as the next one."""

    activated: str | None
    published: str


class KeyRing:
    def __init__(self) -> None:
        self.keys: list[MockKey] = [self._new("active")]

    @staticmethod
    def _new(status: str) -> MockKey:
        private = generate_private_key("ES256")
        return MockKey(private, public_jwk(private, "ES256"), status)

    @property
    def signing(self) -> MockKey:
        return next(key for key in self.keys if key.status == "active")

    @property
    def next(self) -> MockKey | None:
        return next((key for key in self.keys if key.status == "next"), None)

    def rotate(self) -> KeyRotation:
        activated = None
        pending = self.next
        if pending is not None:
            self.signing.status = "retired"
            pending.status = "active"
            activated = pending.kid
        published = self._new("next")
        self.keys.append(published)
        return KeyRotation(activated, published.kid)

    def retire_old_keys(self) -> None:
        self.keys = [key for key in self.keys if key.status != "retired"]

    def find(self, kid: object) -> MockKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(key.jwk) for key in self.keys]}
