"""WebAuthn ceremonies (passkeys), verified by the `webauthn` library: no CBOR, COSE or
attestation parsing of our own.

The relying-party ID is the issuer's host and the origin the issuer's origin, compared exactly;
user verification is always required (a passkey here is a whole login, not half of one). The
sign count is checked here rather than by the library so that a regression is told apart from
every other refusal: it is audited as a possible cloned authenticator.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from idp.crypto.opaque import b64url

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

# The `webauthn` library (and the ASN.1 and CBOR modules under it, ~0.1 s of a provider's start-up)
# is imported by the first ceremony, not by a process that may never see one.

__all__ = [
    "Asserted",
    "CeremonyFailed",
    "Registered",
    "SignCountRegressed",
    "assertion_facts",
    "authentication_options",
    "decode",
    "registration_challenge",
    "registration_options",
    "verify_assertion",
    "verify_registration",
]

TIMEOUT_MS = 120_000  # the browser's prompt; our stored challenge lives longer (policy.PASSKEY_CHALLENGE_TTL)


class CeremonyFailed(Exception):
    """The browser's answer does not verify (origin, RP ID, challenge, signature, flags, JSON)."""


class SignCountRegressed(CeremonyFailed):
    """The authenticator's counter did not go up: a cloned authenticator, or a replayed assertion."""


@dataclass(frozen=True)
class Registered:
    credential_id: str  # base64url
    public_key: bytes  # COSE
    sign_count: int
    aaguid: str
    transports: list[str]
    backed_up: bool  # a synced (software-held) passkey rather than one bound to a device


@dataclass(frozen=True)
class AssertionFacts:
    """What an assertion claims before it is verified: which credential and which challenge."""

    credential_id: str
    challenge: str  # base64url
    user_handle: str | None  # base64url


@dataclass(frozen=True)
class Asserted:
    sign_count: int
    user_verified: bool
    backed_up: bool


def _descriptors(credential_ids: list[tuple[str, list[str]]]) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=decode(cid), transports=[AuthenticatorTransport(t) for t in transports if t in known] or None
        )
        for cid, transports in credential_ids
    ]


def decode(value: str) -> bytes:
    """base64url (unpadded, as WebAuthn writes it) to bytes."""
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def registration_options(
    *,
    rp_id: str,
    rp_name: str,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    challenge: bytes,
    exclude: list[tuple[str, list[str]]],
) -> dict[str, Any]:
    """`navigator.credentials.create` options as JSON: a discoverable credential preferred, user
    verification required, no attestation asked (we trust no vendor list, so asking only leaks)."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(exclude),
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def authentication_options(*, rp_id: str, challenge: bytes, allow: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """`navigator.credentials.get` options as JSON; `allow` empty for a discoverable login."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def verify_registration(credential_json: str, *, challenge: str, rp_id: str, origin: str) -> Registered:
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=decode(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
        transports = json.loads(credential_json).get("response", {}).get("transports") or []
    except (WebAuthnException, ValueError, TypeError, AttributeError) as exc:
        raise CeremonyFailed(str(exc)) from exc
    return Registered(
        credential_id=b64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=[str(t) for t in transports if isinstance(t, str)][:8],
        backed_up=verified.credential_backed_up,
    )


def registration_challenge(credential_json: str) -> str:
    """The challenge a registration answers (base64url), to find the stored one it must match."""
    from webauthn.helpers import parse_client_data_json, parse_registration_credential_json
    from webauthn.helpers.exceptions import WebAuthnException

    if len(credential_json) > 65_536:
        raise CeremonyFailed("registration too large")
    try:
        parsed = parse_registration_credential_json(credential_json)
        return b64url(parse_client_data_json(parsed.response.client_data_json).challenge)
    except (WebAuthnException, ValueError, TypeError, AttributeError) as exc:
        raise CeremonyFailed(str(exc)) from exc


def assertion_facts(credential_json: str) -> AssertionFacts:
    """The credential and challenge an assertion names, to find the stored ones it must match."""
    from webauthn.helpers import parse_authentication_credential_json, parse_client_data_json
    from webauthn.helpers.exceptions import WebAuthnException

    if len(credential_json) > 16_384:
        raise CeremonyFailed("assertion too large")
    try:
        parsed = parse_authentication_credential_json(credential_json)
        client_data = parse_client_data_json(parsed.response.client_data_json)
    except (WebAuthnException, ValueError, TypeError, AttributeError) as exc:
        raise CeremonyFailed(str(exc)) from exc
    handle = parsed.response.user_handle
    return AssertionFacts(b64url(parsed.raw_id), b64url(client_data.challenge), b64url(handle) if handle else None)


def verify_assertion(
    credential_json: str, *, challenge: str, rp_id: str, origin: str, public_key: bytes, sign_count: int
) -> Asserted:
    """Verify with user verification required; the counter must go up whenever either side
    counts (authenticators that never count always report 0, WebAuthn §6.1.1)."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_authentication_response(
            credential=credential_json,
            expected_challenge=decode(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,  # checked below, so a regression has its own name
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, AttributeError) as exc:
        raise CeremonyFailed(str(exc)) from exc
    if (verified.new_sign_count > 0 or sign_count > 0) and verified.new_sign_count <= sign_count:
        raise SignCountRegressed(f"sign count {verified.new_sign_count} not above {sign_count}")
    return Asserted(verified.new_sign_count, verified.user_verified, verified.credential_backed_up)
