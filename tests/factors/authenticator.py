"""A software WebAuthn authenticator for tests: a P-256 key made at test time, answering options the
provider made exactly as a browser would post them (the JSON of `passkeys.js`). No personal data,
no key kept on disk.

Each answer can be spoiled on purpose (another origin or RP ID, user verification absent, a counter
that did not move, a flipped signature byte), so the ceremony checks are tested one by one on
answers that are otherwise perfect.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import struct
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers import csrf_of, form_action

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    """One credential, held in memory. `origin` and `rp_id` are what the "browser" would put in."""

    origin: str
    rp_id: str
    user_verified: bool = True
    synced: bool = False
    counter: int = 0
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    user_handle: bytes | None = None

    def _flags(self, *, attested: bool, user_verified: bool | None) -> int:
        verified = self.user_verified if user_verified is None else user_verified
        flags = UP | (UV if verified else 0) | (BE | BS if self.synced else 0)
        return flags | (AT if attested else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def register(self, options: dict[str, Any], *, origin: str | None = None) -> str:
        """The answer to `navigator.credentials.create(options)`, attestation "none"."""
        self.user_handle = unb64(options["user"]["id"])
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = rp_hash + bytes([self._flags(attested=True, user_verified=None)])
        auth_data += struct.pack(">I", self.counter) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(client_data),
                    "attestationObject": b64(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def assert_(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        user_verified: bool | None = None,
        count: int | None = None,
        flip_signature: bool = False,
    ) -> str:
        """The answer to `navigator.credentials.get(options)`; the counter goes up by one unless
        `count` says what to report."""
        self.counter = self.counter + 1 if count is None else count
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(attested=False, user_verified=user_verified)])
        auth_data += struct.pack(">I", self.counter)
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        if flip_signature:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(client_data),
                    "authenticatorData": b64(auth_data),
                    "signature": b64(signature),
                    "userHandle": b64(self.user_handle) if self.user_handle else None,
                },
            }
        )


def page_options(html: str) -> dict[str, Any]:
    """The ceremony options a page hands its script (`data-options`)."""
    found = re.search(r'data-options="([^"]*)"', html)
    assert found, "the page holds no passkey ceremony"
    options: dict[str, Any] = json.loads(unescape(found.group(1)))
    return options


def enrol_on_account(client: Any, device: SoftAuthenticator, name: str = "Phone") -> Any:
    """Add a passkey from a fresh account page as the citizen's browser would; returns the answer."""
    account = client.get("/account")
    begin = client.post(
        form_action(account.text, "/account/passkeys/new"), data={"csrf_token": csrf_of(account.text), "name": name}
    )
    assert begin.status_code == 200, begin.text
    return client.post(
        form_action(begin.text, "/account/passkeys?"),
        data={"csrf_token": csrf_of(begin.text), "name": name, "credential": device.register(page_options(begin.text))},
    )
