"""Passkeys (WebAuthn) for staff: the console's second factor in place of the TOTP code.

The ceremonies are the citizens' (`idp.crypto.passkeys`, relying-party ID the issuer's host, origin
the issuer's origin, both from settings), on a table of their own (`staff_passkey`). Each challenge
is a `flow` row: five minutes, single use (its atomic `completed_at`), bound to what asked for it:
the console session for an enrolment from "my security", the parked password step (`Pending`) for
a login or a first enrolment. A challenge of another login, a replay, another member's credential
and a counter that did not go up are refused alike; the counter case is audited as a possible
cloned authenticator (`staff.passkey.clone_suspected`).

Adding or removing one's own passkey needs a recent login: the console session must be younger
than `RECENT_LOGIN`. A console session is only ever born from a full two-factor login and the
console has no re-authentication page, so its age is the one proof of a fresh login that is as
strong as the login itself (asking the password alone again would be weaker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.core import audit
from idp.core import passkey_challenges as challenges
from idp.core.passkeys import origin, rp_id
from idp.core.policy import PASSKEY_CHALLENGE_TTL, PASSKEY_NAME_MAX
from idp.core.provider import Provider
from idp.crypto import passkeys as ceremony
from idp.crypto.opaque import b64url, digest, new_token
from idp.errors import Refusal
from idp.store.staff import StaffPasskeyRecord, StaffRecord, StaffSessionRecord

__all__ = [
    "ENROL",
    "LOGIN",
    "PASSKEYS_PER_STAFF",
    "PENDING",
    "PENDING_TTL",
    "RECENT_LOGIN",
    "NotRecent",
    "PasskeyNameInvalid",
    "Pending",
    "StaffPasskeyRefused",
    "TooManyPasskeys",
    "begin_enrolment",
    "begin_first_enrolment",
    "begin_login",
    "end_pending",
    "finish_enrolment",
    "finish_first_enrolment",
    "has_passkey",
    "is_recent",
    "listed",
    "park",
    "pending",
    "remove_for",
    "remove_own",
    "user_handle",
    "verify_login",
]

ENROL, LOGIN, PENDING = "staffkey.enrol", "staffkey.login", "staffkey.pending"
# The password step waits this long for its passkey (or first enrolment), like a challenge.
PENDING_TTL = PASSKEY_CHALLENGE_TTL
# A console session younger than this may add or remove its member's passkeys (SECURITY.md:
# recent authentication within 10 minutes).
RECENT_LOGIN = 10 * 60
PASSKEYS_PER_STAFF = 10


class StaffPasskeyRefused(Refusal):
    """The passkey's answer did not verify, its challenge is spent, expired or another page's, or
    the credential is unknown or another member's."""

    status_code = 401
    error = "passkey_refused"
    message_key = "staff_passkey.refused"


class NotRecent(Refusal):
    """Adding or removing a passkey needs a console login younger than `RECENT_LOGIN`."""

    status_code = 403
    error = "login_required"
    message_key = "staff_passkey.not_recent"


class PasskeyNameInvalid(Refusal):
    status_code = 400
    error = "invalid_passkey_name"
    message_key = "staff_passkey.name_invalid"


class TooManyPasskeys(Refusal):
    status_code = 409
    error = "too_many_passkeys"
    message_key = "staff_passkey.too_many"


@dataclass(frozen=True)
class Pending:
    """A password step that waits for its passkey (`purpose` "login") or, with
    `IDP_STAFF_REQUIRE_PASSKEY` and no passkey yet, for the member's first one ("enrol")."""

    token: str
    staff: StaffRecord
    purpose: str
    counter: str  # the failure budget the password step reserved a try from


def user_handle(staff_id: str) -> bytes:
    """The WebAuthn user handle: the member's internal id, prefixed so it never equals a citizen's."""
    return ("staff:" + staff_id).encode("ascii")


def listed(provider: Provider, staff_id: str) -> list[StaffPasskeyRecord]:
    return provider.store.staff.passkeys.of(staff_id)


def has_passkey(provider: Provider, staff_id: str) -> bool:
    return provider.store.staff.passkeys.count(staff_id) > 0


def is_recent(provider: Provider, session: StaffSessionRecord) -> bool:
    return provider.clock.now() - session.created_at <= RECENT_LOGIN


# -- challenges -----------------------------------------------------------------------------------


def _session_binding(session: StaffSessionRecord) -> str:
    return "session:" + session.id_digest


def _pending_binding(token: str) -> str:
    return "pending:" + token


def _audit(provider: Provider, action: str, outcome: str, actor: str, staff_id: str, **detail: Any) -> None:
    audit.record(provider, action=action, outcome=outcome, actor=actor, subject=f"staff:{staff_id}", detail=detail)


# -- the parked password step ---------------------------------------------------------------------


def park(provider: Provider, staff: StaffRecord, purpose: str, counter: str) -> str:
    """Park a right password for its second step; the returned token goes in a cookie."""
    token = new_token(provider.rng, 32)
    now = provider.clock.now()
    provider.store.flows.create(
        id=digest(token),
        kind=PENDING,
        binding_digest=digest(token),
        citizen_id=staff.id,
        data={"purpose": purpose, "counter": counter},
        created_at=now,
        expires_at=now + PENDING_TTL,
    )
    return token


def pending(provider: Provider, token: str | None) -> Pending | None:
    """The live parked password step behind this cookie value, or None."""
    if not token or len(token) > 100:
        return None
    flow = provider.store.flows.get(digest(token))
    if flow is None or flow.kind != PENDING or flow.completed_at is not None or not flow.citizen_id:
        return None
    if flow.expires_at <= provider.clock.now():
        return None
    staff = provider.store.staff.get(flow.citizen_id)
    if staff is None or staff.status != "active":
        return None
    return Pending(token, staff, str(flow.data.get("purpose", "")), str(flow.data.get("counter", "")))


def end_pending(provider: Provider, parked: Pending) -> bool:
    """Spend the parked step: once, so a second answer (a replay, a race) finds it gone."""
    return provider.store.flows.complete(digest(parked.token), provider.clock.now())


# -- enrolment ------------------------------------------------------------------------------------


def _options(provider: Provider, staff: StaffRecord, challenge: str) -> dict[str, Any]:
    existing = listed(provider, staff.id)
    if len(existing) >= PASSKEYS_PER_STAFF:
        raise TooManyPasskeys("the account holds the most passkeys allowed")  # the challenge waits unused
    return ceremony.registration_options(
        rp_id=rp_id(provider),
        rp_name="PostID console",
        user_handle=user_handle(staff.id),
        user_name=staff.username,
        display_name=staff.full_name or staff.username,
        challenge=ceremony.decode(challenge),
        exclude=[(p.credential_id, p.transports) for p in existing],
    )


def begin_enrolment(provider: Provider, staff: StaffRecord, session: StaffSessionRecord) -> dict[str, Any]:
    """`navigator.credentials.create` options for "my security"; the challenge bound to the session."""
    if not is_recent(provider, session):
        raise NotRecent("log in again to add a passkey")
    return _options(provider, staff, challenges.issue(provider, ENROL, _session_binding(session), staff.id))


def begin_first_enrolment(provider: Provider, parked: Pending) -> dict[str, Any]:
    """Options for the first passkey of a member the password and TOTP code proved, when the
    console requires passkeys and the member has none; bound to the parked step."""
    return _options(
        provider, parked.staff, challenges.issue(provider, ENROL, _pending_binding(parked.token), parked.staff.id)
    )


def _enrol(
    provider: Provider, staff: StaffRecord, binding: str, name: str, credential_json: str, actor: str
) -> StaffPasskeyRecord:
    name = " ".join(name.split())
    if not name or len(name) > PASSKEY_NAME_MAX:
        raise PasskeyNameInvalid("a passkey needs a name of at most 64 characters")
    action = "staff.passkey.added"
    try:
        challenge = ceremony.registration_challenge(credential_json)
    except ceremony.CeremonyFailed as exc:
        _audit(provider, action, "failure", actor, staff.id, reason="malformed", error=str(exc)[:200])
        raise StaffPasskeyRefused("malformed") from exc
    if challenges.spend(provider, challenge, ENROL, binding) != staff.id:
        _audit(provider, action, "failure", actor, staff.id, reason="challenge")
        raise StaffPasskeyRefused("challenge")
    try:
        made = ceremony.verify_registration(
            credential_json, challenge=challenge, rp_id=rp_id(provider), origin=origin(provider)
        )
    except ceremony.CeremonyFailed as exc:
        _audit(provider, action, "failure", actor, staff.id, reason="ceremony", error=str(exc)[:200])
        raise StaffPasskeyRefused("ceremony") from exc
    record = StaffPasskeyRecord(
        made.credential_id, staff.id, made.public_key, made.sign_count, made.transports,
        made.aaguid, made.backed_up, name, provider.clock.now(), None,
    )  # fmt: skip
    if not provider.store.staff.passkeys.add(record):
        _audit(provider, action, "failure", actor, staff.id, reason="duplicate")
        raise StaffPasskeyRefused("duplicate")
    _audit(
        provider, action, "success", actor, staff.id,
        credential=made.credential_id[:16], aaguid=made.aaguid, synced=made.backed_up, name=name,
    )  # fmt: skip
    return record


def finish_enrolment(
    provider: Provider, staff: StaffRecord, session: StaffSessionRecord, name: str, credential_json: str
) -> StaffPasskeyRecord:
    if not is_recent(provider, session):
        raise NotRecent("log in again to add a passkey")
    return _enrol(provider, staff, _session_binding(session), name, credential_json, f"staff:{staff.username}")


def finish_first_enrolment(provider: Provider, parked: Pending, name: str, credential_json: str) -> StaffPasskeyRecord:
    """The first passkey; the parked step is spent whatever the answer (a new login starts over)."""
    if parked.purpose != "enrol" or not end_pending(provider, parked):
        raise StaffPasskeyRefused("pending")
    staff = parked.staff
    return _enrol(provider, staff, _pending_binding(parked.token), name, credential_json, f"staff:{staff.username}")


def remove_own(provider: Provider, staff: StaffRecord, session: StaffSessionRecord, credential_id: str) -> bool:
    if not is_recent(provider, session):
        raise NotRecent("log in again to remove a passkey")
    return _remove(provider, staff, credential_id, f"staff:{staff.username}")


def remove_for(provider: Provider, target: StaffRecord, credential_id: str, actor: str) -> bool:
    """An administrator removes another member's passkey (a lost authenticator)."""
    return _remove(provider, target, credential_id, actor)


def _remove(provider: Provider, staff: StaffRecord, credential_id: str, actor: str) -> bool:
    found = next((p for p in listed(provider, staff.id) if p.credential_id == credential_id), None)
    if found is None or not provider.store.staff.passkeys.remove(staff.id, credential_id):
        return False
    _audit(
        provider, "staff.passkey.removed", "success", actor, staff.id, credential=credential_id[:16], name=found.name
    )
    return True


# -- login ----------------------------------------------------------------------------------------


def begin_login(provider: Provider, parked: Pending) -> dict[str, Any]:
    """`navigator.credentials.get` options listing the member's own passkeys; the challenge bound
    to this parked password step, so no other login can answer it."""
    challenge = challenges.issue(provider, LOGIN, _pending_binding(parked.token), parked.staff.id)
    allow = [(p.credential_id, p.transports) for p in listed(provider, parked.staff.id)]
    return ceremony.authentication_options(rp_id=rp_id(provider), challenge=ceremony.decode(challenge), allow=allow)


def verify_login(provider: Provider, parked: Pending, credential_json: str) -> list[str]:
    """Verify the assertion for this parked step; the `amr` it earns with the password. Every
    refusal is a `StaffPasskeyRefused` naming its reason (the caller audits the failed login)."""
    staff = parked.staff
    actor = f"staff:{staff.username}"
    try:
        facts = ceremony.assertion_facts(credential_json)
    except ceremony.CeremonyFailed as exc:
        raise StaffPasskeyRefused("malformed") from exc
    if challenges.spend(provider, facts.challenge, LOGIN, _pending_binding(parked.token)) != staff.id:
        raise StaffPasskeyRefused("challenge")
    key = provider.store.staff.passkeys.get(facts.credential_id) if len(facts.credential_id) <= 1400 else None
    if key is None:
        raise StaffPasskeyRefused("unknown_credential")
    if key.staff_id != staff.id or (
        facts.user_handle is not None and facts.user_handle != b64url(user_handle(key.staff_id))
    ):
        raise StaffPasskeyRefused("another_member")
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
        _audit(
            provider, "staff.passkey.clone_suspected", "failure", actor, staff.id,
            credential=key.credential_id[:16], stored=key.sign_count, error=str(exc)[:200],
        )  # fmt: skip
        raise StaffPasskeyRefused("sign_count") from exc
    except ceremony.CeremonyFailed as exc:
        raise StaffPasskeyRefused("ceremony") from exc
    if not provider.store.staff.passkeys.advance(
        key.credential_id, key.sign_count, asserted.sign_count, provider.clock.now()
    ):
        raise StaffPasskeyRefused("raced")
    amr = ["pwd", "swk" if asserted.backed_up else "hwk", "user", "mfa"]
    _audit(provider, "staff.passkey.used", "success", actor, staff.id, credential=key.credential_id[:16], amr=amr)
    return amr
