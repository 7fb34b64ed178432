"""Second factors: the authenticator app (TOTP, RFC 6238) and recovery codes.

The TOTP seed is sealed at rest with a key outside the database (bound to the citizen's id,
so a sealed seed cannot be moved to another row); each accepted time step is recorded so a
code is never accepted twice. Recovery codes are shown once and kept as keyed digests.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.core import audit, otp
from idp.core.identity import phone_for_display
from idp.core.provider import Provider
from idp.crypto.codes import normalize_recovery_code, recovery_code
from idp.crypto.totp import new_totp_secret, provisioning_uri, qr_svg, verify_totp
from idp.errors import Refusal
from idp.store.records import CitizenRecord

RECOVERY_CODES = 10


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def has_totp(provider: Provider, citizen_id: str) -> bool:
    record = provider.store.authenticators.get(citizen_id)
    return record is not None and record.confirmed_at is not None


class AlreadyEnrolled(Refusal):
    """A confirmed authenticator exists; it must be removed before another is enrolled."""

    status_code = 409
    error = "already_enrolled"
    message_key = "totp.already"


def begin_totp(provider: Provider, citizen: CitizenRecord) -> Enrolment:
    if has_totp(provider, citizen.id):
        raise AlreadyEnrolled()
    secret = new_totp_secret(provider.rng)
    provider.store.authenticators.start_enrolment(
        citizen.id, provider.secrets.seal(secret, citizen.id), provider.clock.now()
    )
    uri = provisioning_uri(secret, totp_label(citizen), "PostID")
    return Enrolment(secret, uri, qr_svg(uri))


def totp_label(citizen: CitizenRecord) -> str:
    """What the app shows: a masked phone, never the ID number (apps sync labels to clouds)."""
    shown = phone_for_display(citizen.phone)
    return f"{shown[:3]}****{shown[-3:]}"


def _check_totp(provider: Provider, citizen_id: str, code: str, confirm: bool, flow_id: str | None = None) -> bool:
    record = provider.store.authenticators.get(citizen_id)
    if record is None or (record.confirmed_at is None) != confirm:
        otp.check_not_blocked(provider, citizen_id, flow_id=flow_id)
        return False
    otp.reserve_try(provider, citizen_id, flow_id=flow_id)
    now = provider.clock.now()
    step = verify_totp(provider.secrets.unseal(record.secret_sealed, citizen_id), code, now, record.last_step)
    if step is None or not provider.store.authenticators.accept_step(citizen_id, step, now, confirm=confirm):
        otp.count_failure(provider, citizen_id)
        return False
    otp.clear_failures(provider, citizen_id, flow_id=flow_id)
    return True


def confirm_totp(provider: Provider, citizen_id: str, code: str) -> list[str] | None:
    """The first code from the app confirms the enrolment; returns fresh recovery codes then."""
    if not _check_totp(provider, citizen_id, code, confirm=True):
        return None
    audit.record(
        provider,
        action="factor.totp.enrolled",
        outcome="success",
        actor=f"citizen:{citizen_id}",
        subject=f"citizen:{citizen_id}",
    )
    return new_recovery_codes(provider, citizen_id)


def verify_totp_code(provider: Provider, citizen_id: str, code: str, *, flow_id: str | None = None) -> bool:
    """`flow_id`: the login or reset the code is for, whose code budget the try spends."""
    return _check_totp(provider, citizen_id, code, confirm=False, flow_id=flow_id)


def new_recovery_codes(provider: Provider, citizen_id: str) -> list[str]:
    codes = [recovery_code(provider.rng) for _ in range(RECOVERY_CODES)]
    digests = [provider.secrets.mac("recovery", normalize_recovery_code(c)) for c in codes]
    provider.store.recovery_codes.replace(citizen_id, digests, provider.clock.now())
    audit.record(
        provider,
        action="factor.recovery.regenerated",
        outcome="success",
        actor=f"citizen:{citizen_id}",
        subject=f"citizen:{citizen_id}",
    )
    return codes


def use_recovery_code(provider: Provider, citizen_id: str, code: str, *, flow_id: str | None = None) -> bool:
    """`flow_id`: the login or reset the code is for, whose code budget the try spends."""
    otp.reserve_try(provider, citizen_id, flow_id=flow_id)
    now = provider.clock.now()
    digest = provider.secrets.mac("recovery", normalize_recovery_code(code))
    used = provider.store.recovery_codes.use(citizen_id, digest, now)
    if used:
        otp.clear_failures(provider, citizen_id, flow_id=flow_id)
    else:
        otp.count_failure(provider, citizen_id)
    audit.record(
        provider,
        action="factor.recovery.used",
        outcome="success" if used else "failure",
        subject=f"citizen:{citizen_id}",
    )
    return used


def stronger_than_sms(provider: Provider, citizen_id: str) -> bool:
    """Whether the account holds a factor a stolen SIM does not give: then SMS alone never stands in
    for it, neither at login nor in a reset. A passkey is one (SECURITY.md: recovery)."""
    return has_totp(provider, citizen_id) or provider.store.passkeys.count(citizen_id) > 0


def verify_app_or_recovery_code(provider: Provider, citizen_id: str, code: str, *, flow_id: str | None = None) -> bool:
    """The app's 6-digit code, or else one of the recovery codes (a recovery code is never six
    digits, so what was typed says which one it is and only one failure is counted). `flow_id`: the
    reset the code is for, whose code budget the try spends."""
    typed = "".join(code.split())
    if len(typed) == 6 and typed.isascii() and typed.isdigit():
        return verify_totp_code(provider, citizen_id, typed, flow_id=flow_id)
    return use_recovery_code(provider, citizen_id, typed, flow_id=flow_id)
