"""One-time codes sent by SMS or email: issuing, and checking them under the limits.

A code is 6 digits from the CSPRNG, kept only as a keyed digest (a bare hash of a 6-digit
number would be reversed from a database copy at once), valid 5 minutes, bound to its purpose,
account and flow, consumed once. A try is spent *before* the comparison, in one conditional
update, so twenty parallel guesses at one code get at most five comparisons.
"""

from __future__ import annotations

from idp.core import audit, limits, notify, policy
from idp.core.identity import normalize_phone
from idp.core.provider import Provider
from idp.crypto.codes import numeric_code
from idp.crypto.opaque import new_token
from idp.errors import Refusal, ValidationError
from idp.i18n import t
from idp.store.factors import ChallengeRecord

PURPOSES = ("register", "login", "reset", "phone_change")
# Codes sent to a number nobody has proven yet: the ones an SMS pumper chooses (`limits.reserve_send`).
UNVERIFIED_PURPOSES = ("register", "phone_change")


class CodeRefused(Refusal):
    """The code was not accepted. `reason` is for logs and tests; people see one message."""

    status_code = 401
    api_status_code = 400
    error = "invalid_code"
    message_key = "code.refused"

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _label(challenge_id: str) -> str:
    return f"otp:{challenge_id}"


def check_sms_destination(phone: str) -> str:
    """SMS-pumping defence: only Vietnamese mobile numbers are ever sent to."""
    try:
        return normalize_phone(phone)
    except ValidationError:
        raise limits.SendRefused("destination") from None


def send_code(
    provider: Provider,
    *,
    citizen_id: str | None,
    purpose: str,
    destination: str,
    flow_id: str,
    client_ip: str,
    lang: str,
    channel: str = "sms",
    reserved: bool = False,
    deliver: bool = True,
) -> None:
    """Issue a fresh code for the flow (voiding its earlier ones) and queue it for delivery.

    With `deliver` false (no account behind the request, so `citizen_id` is None, or the SMS-pumping
    breaker holds the number) the same work is done, statement for statement, and nothing is stored
    or sent: the answer and its timing say nothing about which it was."""
    assert purpose in PURPOSES
    if channel == "sms":
        destination = check_sms_destination(destination)
    if not reserved:
        deliver = limits.reserve_send(provider, destination, client_ip, verified=purpose not in UNVERIFIED_PURPOSES)
    deliver = deliver and citizen_id is not None
    now = provider.clock.now()
    code = numeric_code(provider.rng, 6)
    challenge_id = new_token(provider.rng, 16)
    provider.store.challenges.create(
        id=challenge_id,
        citizen_id=citizen_id,
        purpose=purpose,
        channel=channel,
        destination=destination,
        flow_id=flow_id,
        code_digest=provider.secrets.mac(_label(challenge_id), code),
        created_at=now,
        expires_at=now + policy.CODE_TTL,
        write=deliver,
    )
    text = t(lang, f"sms.code.{purpose}", code=code, minutes=policy.CODE_TTL // 60)
    notify.send(
        provider,
        channel=channel,
        to=destination,
        purpose=purpose,
        text=text,
        code=code,
        subject=t(lang, "email.code.subject"),
        deliver=deliver,
    )
    held = {} if deliver else {"held": "sms_breaker" if citizen_id else "unknown_account"}
    audit.record(
        provider,
        action="code.sent",
        outcome="success" if deliver else "denied",
        subject=f"citizen:{citizen_id}" if citizen_id else None,
        ip=client_ip,
        detail={"purpose": purpose, "channel": channel, **held},
    )


def check_not_blocked(provider: Provider, citizen_id: str) -> None:
    state = provider.store.failures.state(citizen_id, "code")
    now = provider.clock.now()
    if state.locked:
        raise CodeRefused("locked")
    if state.blocked_until > now:
        raise CodeRefused("blocked", state.blocked_until - now)


def record_failure(provider: Provider, citizen_id: str) -> None:
    state = provider.store.failures.record(citizen_id, "code", provider.clock.now(), limits.code_delay)
    if state.locked:
        audit.record(
            provider,
            action="factor.lock",
            outcome="success",
            actor="system",
            subject=f"citizen:{citizen_id}",
            detail={"reason": "code_failures"},
        )


def verify_code(provider: Provider, *, citizen_id: str, purpose: str, flow_id: str, code: str) -> ChallengeRecord:
    check_not_blocked(provider, citizen_id)
    now = provider.clock.now()
    challenge = provider.store.challenges.live_for_flow(flow_id, purpose, now)
    if challenge is None or challenge.citizen_id != citizen_id:
        raise CodeRefused("expired")
    taken = provider.store.challenges.take_attempt(challenge.id, now, policy.CODE_TRIES)
    if taken is None:
        raise CodeRefused("no_tries_left")
    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()) or not provider.secrets.mac_matches(
        _label(challenge.id), code, taken.code_digest
    ):
        record_failure(provider, citizen_id)
        audit.record(
            provider,
            action="code.used",
            outcome="failure",
            subject=f"citizen:{citizen_id}",
            detail={"purpose": purpose, "reason": "wrong"},
        )
        raise CodeRefused("wrong")
    if not provider.store.challenges.consume(challenge.id, now):
        raise CodeRefused("expired")
    provider.store.failures.clear(citizen_id, "code", now)
    audit.record(
        provider, action="code.used", outcome="success", subject=f"citizen:{citizen_id}", detail={"purpose": purpose}
    )
    return taken
