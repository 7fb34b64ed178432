"""Passkeys (WebAuthn) for citizens: enrolment on the account page, passwordless login from the
login page, and the second factor after the password.

Every ceremony starts with a challenge kept in the `flow` table: five minutes, single use (its
atomic `completed_at`), bound to what asked for it (the interaction for a login, the session for an
enrolment). A challenge from another interaction, a replayed assertion (its challenge is spent),
a credential of another citizen and a counter that did not go up are all refused the same way;
the counter case is audited as a possible cloned authenticator and told on every channel.

The relying-party ID is the issuer's host and the origin the issuer's origin, from settings,
never from the request. What `amr` says (RFC 8176): `hwk` for a device-bound key, `swk` for a
synced one (the authenticator's backup-eligible flag), `user` (presence is always tested), and
`mfa` since user verification is required: the key (possession) unlocked by a PIN or biometric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idp.core import audit, factors, notify
from idp.core import passkey_challenges as challenges
from idp.core.policy import PASSKEY_NAME_MAX, PASSKEYS_PER_CITIZEN
from idp.core.provider import Provider
from idp.crypto import passkeys as ceremony
from idp.crypto.opaque import b64url
from idp.errors import Refusal
from idp.i18n import t
from idp.store.passkeys import PasskeyRecord
from idp.store.records import CitizenRecord, SessionRecord

__all__ = [
    "ENROL",
    "LOGIN",
    "SECOND",
    "Enrolled",
    "LastStrongFactor",
    "PasskeyNameInvalid",
    "PasskeyRefused",
    "Used",
    "begin_enrolment",
    "begin_login",
    "begin_reauth",
    "begin_reset",
    "clean_name",
    "finish_enrolment",
    "finish_login",
    "finish_reauth",
    "has_passkey",
    "is_last_strong_factor",
    "listed",
    "remove",
    "rename",
    "verify_for_reset",
]

ENROL, LOGIN, SECOND = "passkey.enrol", "passkey.login", "passkey.2fa"
REAUTH, RESET = "passkey.reauth", "passkey.reset"


class PasskeyRefused(Refusal):
    """The passkey's answer did not verify, its challenge is spent, expired or another page's, or
    the credential is unknown or someone else's: the person tries again from the page."""

    status_code = 401
    error = "passkey_refused"
    message_key = "passkey.refused"


class PasskeyNameInvalid(Refusal):
    status_code = 400
    error = "invalid_request"
    message_key = "passkey.name_invalid"


class LastStrongFactor(Refusal):
    """Removing this passkey leaves the account with the password and SMS codes only: done only
    once the citizen confirmed it, on the page that says so."""

    status_code = 409
    error = "confirmation_required"
    message_key = "passkey.last_confirm"


class TooManyPasskeys(Refusal):
    status_code = 409
    error = "too_many_passkeys"
    message_key = "passkey.too_many"


@dataclass(frozen=True)
class Enrolled:
    """A new passkey, and the recovery codes to show once when it is the account's first strong
    factor and the account had none (as the app's enrolment does): without them a lost passkey
    leaves only the counter."""

    passkey: PasskeyRecord
    recovery_codes: list[str] | None


@dataclass(frozen=True)
class Used:
    """A verified login with a passkey: whose, and what `amr` it earns."""

    citizen: CitizenRecord
    amr: list[str]


def rp_id(provider: Provider) -> str:
    return urlsplit(provider.issuer).hostname or ""


def origin(provider: Provider) -> str:
    parts = urlsplit(provider.issuer)
    return f"{parts.scheme}://{parts.netloc}"


def user_handle(citizen_id: str) -> bytes:
    """The WebAuthn user handle: the account's internal id, random and no personal data."""
    return citizen_id.encode("ascii")


def has_passkey(provider: Provider, citizen_id: str) -> bool:
    return provider.store.passkeys.count(citizen_id) > 0


def listed(provider: Provider, citizen_id: str) -> list[PasskeyRecord]:
    return provider.store.passkeys.of(citizen_id)


def clean_name(name: str) -> str:
    """A passkey's name as stored: whitespace folded, 1 to PASSKEY_NAME_MAX characters."""
    name = " ".join(name.split())
    if not name or len(name) > PASSKEY_NAME_MAX:
        raise PasskeyNameInvalid(f"a passkey needs a name of at most {PASSKEY_NAME_MAX} characters")
    return name


def is_last_strong_factor(provider: Provider, citizen_id: str, credential_id: str) -> bool:
    """Whether this passkey is all that stands between the account and a SIM swap: no app, no
    other passkey."""
    keys = listed(provider, citizen_id)
    if [p.credential_id for p in keys] != [credential_id]:
        return False
    return not factors.has_totp(provider, citizen_id)


def _refuse(provider: Provider, action: str, reason: str, citizen_id: str | None, **detail: Any) -> PasskeyRefused:
    subject = f"citizen:{citizen_id}" if citizen_id else None
    audit.record(
        provider, action=action, outcome="failure", actor=subject, subject=subject, detail={"reason": reason, **detail}
    )
    return PasskeyRefused(reason)


def _tell(
    provider: Provider, citizen: CitizenRecord, key: str, lang: str, *, every_channel: bool = True, **p: str
) -> None:
    if every_channel:
        notify.tell_every_channel(
            provider,
            citizen,
            sms=t("vi", f"sms.notice.{key}", **p),
            email=t(lang, f"email.notice.{key}", **p),
            lang=lang,
        )
    elif citizen.email:
        notify.send(
            provider,
            channel="email",
            to=citizen.email,
            purpose="notice",
            text=t(lang, f"email.notice.{key}", **p),
            subject=t(lang, "email.notice.subject"),
        )


def begin_enrolment(provider: Provider, session: SessionRecord, citizen: CitizenRecord) -> dict[str, Any]:
    """`navigator.credentials.create` options; the challenge is bound to this browser session."""
    existing = listed(provider, citizen.id)
    if len(existing) >= PASSKEYS_PER_CITIZEN:
        raise TooManyPasskeys("the account holds the most passkeys allowed")
    challenge = challenges.issue(provider, ENROL, session.id_digest, citizen.id)
    return ceremony.registration_options(
        rp_id=rp_id(provider),
        rp_name="PostID",
        user_handle=user_handle(citizen.id),
        user_name=citizen.id_number,
        display_name=citizen.full_name,
        challenge=ceremony.decode(challenge),
        exclude=[(p.credential_id, p.transports) for p in existing],
    )


def finish_enrolment(
    provider: Provider, session: SessionRecord, citizen: CitizenRecord, name: str, credential_json: str, lang: str
) -> Enrolled:
    name = clean_name(name)
    action = "citizen.passkey.enrol"
    try:
        challenge = ceremony.registration_challenge(credential_json)
    except ceremony.CeremonyFailed as exc:
        raise _refuse(provider, action, "malformed", citizen.id, error=str(exc)[:200]) from exc
    if challenges.spend(provider, challenge, ENROL, session.id_digest) != citizen.id:
        raise _refuse(provider, action, "challenge", citizen.id)
    try:
        made = ceremony.verify_registration(
            credential_json, challenge=challenge, rp_id=rp_id(provider), origin=origin(provider)
        )
    except ceremony.CeremonyFailed as exc:
        raise _refuse(provider, action, "ceremony", citizen.id, error=str(exc)[:200]) from exc
    now = provider.clock.now()
    record = PasskeyRecord(
        made.credential_id, citizen.id, made.public_key, made.sign_count, made.transports,
        made.aaguid, made.backed_up, name, now, None,
    )  # fmt: skip
    if not provider.store.passkeys.add(record):
        raise _refuse(provider, action, "duplicate", citizen.id)
    audit.record(
        provider,
        action=action,
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"credential": made.credential_id[:16], "aaguid": made.aaguid, "synced": made.backed_up},
    )
    _tell(provider, citizen, "passkey_added", lang, name=name)
    only_strong_factor = is_last_strong_factor(provider, citizen.id, record.credential_id)
    codes = None
    if only_strong_factor and provider.store.recovery_codes.remaining(citizen.id) == 0:
        codes = factors.new_recovery_codes(provider, citizen.id)
    return Enrolled(record, codes)


def rename(provider: Provider, citizen: CitizenRecord, credential_id: str, name: str) -> bool:
    """False when the passkey is not this citizen's (or is gone); the name follows enrolment's rules."""
    name = clean_name(name)
    found = next((p for p in listed(provider, citizen.id) if p.credential_id == credential_id), None)
    if found is None or not provider.store.passkeys.rename(citizen.id, credential_id, name):
        return False
    audit.record(
        provider,
        action="citizen.passkey.rename",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"credential": credential_id[:16], "from": found.name, "to": name},
    )
    return True


def remove(
    provider: Provider, citizen: CitizenRecord, credential_id: str, lang: str, *, confirmed: bool = False
) -> bool:
    """Remove one of the citizen's passkeys. The last strong factor goes only `confirmed`
    (`LastStrongFactor` otherwise), after the page that says what the account falls back to."""
    found = next((p for p in listed(provider, citizen.id) if p.credential_id == credential_id), None)
    if found is None:
        return False
    last = is_last_strong_factor(provider, citizen.id, credential_id)
    if last and not confirmed:
        raise LastStrongFactor("the last strong factor is removed only once confirmed")
    if not provider.store.passkeys.remove(citizen.id, credential_id):
        return False
    audit.record(
        provider,
        action="citizen.passkey.remove",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"credential": credential_id[:16], "last_strong_factor": last},
    )
    _tell(provider, citizen, "passkey_removed", lang, name=found.name)
    return True


def _options(provider: Provider, kind: str, bound_to: str, citizen_id: str | None, allow_own: bool) -> dict[str, Any]:
    challenge = challenges.issue(provider, kind, bound_to, citizen_id)
    allow = [(p.credential_id, p.transports) for p in listed(provider, citizen_id)] if citizen_id and allow_own else []
    return ceremony.authentication_options(rp_id=rp_id(provider), challenge=ceremony.decode(challenge), allow=allow)


def begin_login(provider: Provider, interaction_id: str, citizen_id: str | None) -> dict[str, Any]:
    """Options for `navigator.credentials.get`, the challenge bound to this interaction. Without a
    citizen (passwordless) the list is empty, so the authenticator offers its discoverable
    credentials; as the second factor it lists the citizen's own."""
    return _options(provider, SECOND if citizen_id else LOGIN, interaction_id, citizen_id, allow_own=True)


def begin_reauth(provider: Provider, session: SessionRecord) -> dict[str, Any]:
    """Options for a recent authentication with a passkey: the challenge bound to this browser
    session and issued for its citizen, whose own passkeys are listed."""
    return _options(provider, REAUTH, session.id_digest, session.citizen_id, allow_own=True)


def begin_reset(provider: Provider, flow_id: str, citizen_id: str | None) -> dict[str, Any]:
    """Options for a password reset, the challenge bound to the reset flow. Made for every reset,
    account or none, and never listing credentials: the page a stranger can reach by typing
    someone's ID number must not say whether that account has passkeys (the authenticator offers
    its discoverable ones; the owner is checked when the answer comes back)."""
    return _options(provider, RESET, flow_id, citizen_id, allow_own=False)


def _assertion(
    provider: Provider, kind: str, bound_to: str, citizen_id: str | None, credential_json: str, action: str, lang: str
) -> tuple[CitizenRecord, PasskeyRecord, list[str]]:
    """Every ceremony's checks, in order: the challenge (this kind, bound here, issued for this
    citizen, spent once), the credential (known, `citizen_id`'s when given, its user handle
    consistent), the account active, then the signature, origin, RP ID, user verification and
    counter. Returns the citizen, the key and the `amr` it earns."""
    try:
        facts = ceremony.assertion_facts(credential_json)
    except ceremony.CeremonyFailed as exc:
        raise _refuse(provider, action, "malformed", citizen_id, error=str(exc)[:200]) from exc
    issued_for = challenges.spend(provider, facts.challenge, kind, bound_to)
    if issued_for is None or (citizen_id is not None and issued_for != citizen_id):
        raise _refuse(provider, action, "challenge", citizen_id)
    key = provider.store.passkeys.get(facts.credential_id) if len(facts.credential_id) <= 1400 else None
    if key is None:
        raise _refuse(provider, action, "unknown_credential", citizen_id)
    owner_mismatch = citizen_id is not None and key.citizen_id != citizen_id
    handle_mismatch = facts.user_handle is not None and facts.user_handle != b64url(user_handle(key.citizen_id))
    if owner_mismatch or handle_mismatch:
        raise _refuse(provider, action, "another_citizen", citizen_id or key.citizen_id)
    citizen = provider.store.citizens.get(key.citizen_id)
    if citizen is None or citizen.status != "active":
        raise _refuse(provider, action, "inactive", key.citizen_id)
    try:
        asserted = ceremony.verify_assertion(
            credential_json,
            challenge=facts.challenge,
            rp_id=rp_id(provider),
            origin=origin(provider),
            public_key=key.public_key,
            sign_count=key.sign_count,
        )
    except ceremony.SignCountRegressed as exc:
        audit.record(
            provider,
            action="citizen.passkey.clone_suspected",
            outcome="failure",
            actor=f"citizen:{citizen.id}",
            subject=f"citizen:{citizen.id}",
            detail={"credential": key.credential_id[:16], "stored": key.sign_count, "error": str(exc)[:200]},
        )
        _tell(provider, citizen, "passkey_clone", lang, name=key.name)
        raise PasskeyRefused("sign count regressed") from exc
    except ceremony.CeremonyFailed as exc:
        raise _refuse(provider, action, "ceremony", citizen.id, error=str(exc)[:200]) from exc
    if not provider.store.passkeys.advance(
        key.credential_id, key.sign_count, asserted.sign_count, provider.clock.now()
    ):
        raise _refuse(provider, action, "raced", citizen.id)
    amr = ["swk" if asserted.backed_up else "hwk", "user"] + (["mfa"] if asserted.user_verified else [])
    return citizen, key, amr


def finish_login(
    provider: Provider, interaction_id: str, citizen_id: str | None, credential_json: str, lang: str = "vi"
) -> Used:
    """Verify an assertion for this interaction. `citizen_id`: the citizen the password proved
    (second factor) or None (passwordless: the credential says who)."""
    kind = SECOND if citizen_id else LOGIN
    action = "citizen.login.passkey"
    citizen, key, amr = _assertion(provider, kind, interaction_id, citizen_id, credential_json, action, lang)
    audit.record(
        provider,
        action=action,
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"credential": key.credential_id[:16], "amr": amr, "second_factor": citizen_id is not None},
    )
    _tell(provider, citizen, "passkey_used", lang, every_channel=False, name=key.name)
    return Used(citizen, amr)


def finish_reauth(provider: Provider, session: SessionRecord, credential_json: str, lang: str = "vi") -> list[str]:
    """Verify a recent authentication's assertion: one of the session's citizen's own passkeys,
    user verified, answering a challenge issued to this session. Returns the `amr` it earns."""
    _, _, amr = _assertion(
        provider, REAUTH, session.id_digest, session.citizen_id, credential_json, "citizen.reauth.passkey", lang
    )
    return amr


def verify_for_reset(provider: Provider, flow_id: str, citizen_id: str, credential_json: str, lang: str) -> bool:
    """Whether the assertion is one of `citizen_id`'s passkeys, user verified, answering the
    challenge of this reset flow (spent with it). Refusals are audited, never raised: the reset
    says the one thing it says for every missing or wrong second factor."""
    try:
        _assertion(provider, RESET, flow_id, citizen_id, credential_json, "citizen.password_reset.passkey", lang)
    except PasskeyRefused:
        return False
    return True
