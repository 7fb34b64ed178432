"""One-time codes sent by SMS or email: issuing, and checking them under the limits.

A code is 6 digits from the CSPRNG, kept only as a keyed digest (a bare hash of a 6-digit
number would be reversed from a database copy at once), valid 5 minutes, bound to its purpose,
account and flow, consumed once. A try is spent *before* the comparison, in one conditional
update, so twenty parallel guesses at one code get at most five comparisons.

Failures count per flow (growing delays in that flow's budget: a reset someone else started cannot
spend the owner's login), and per account only towards the hard cap that locks the factor.
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

PURPOSES = ("register", "login", "reset", "phone_change", "counter")
# Codes sent to a number nobody has proven yet: the ones an SMS pumper chooses (`limits.reserve_send`).
UNVERIFIED_PURPOSES = ("register", "phone_change")


class CodeRefused(Refusal):
    """The code was not accepted. `reason` is for logs and tests; people see one message."""

    status_code = 401
    api_status_code = 400
    error = "invalid_code"

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def message_key(self) -> str:  # type: ignore[override]
        """Each state in its own words: a spent code is not "wrong", a wait says how long."""
        return _CODE_REFUSALS.get(self.reason, "code.refused")

    @property
    def message_params(self) -> dict[str, object]:
        return {"minutes": limits.minutes(self.retry_after)}


_CODE_REFUSALS = {"no_tries_left": "code.spent", "blocked": "code.wait", "locked": "code.locked"}


def refusal_without_account(provider: Provider, flow_id: str) -> CodeRefused:
    """The refusal for a flow with no account behind it (a reset for nobody, a registration that
    collided): its tries are counted in the flow's budget exactly as a real code's are, so the
    words change ("wait", "spent") after the same tries and say nothing about the account."""
    now = provider.clock.now()
    counted, state = provider.store.budgets.reserve(
        _budget_key("", flow_id), now, limits.code_delay, now + policy.BUDGET_TTL
    )
    if not counted:
        return CodeRefused("locked" if state.locked else "blocked", max(state.blocked_until - now, 0))
    return CodeRefused("no_tries_left" if state.consecutive > policy.CODE_TRIES else "wrong")


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
    owner: bool = False,
    deliver: bool = True,
    params: dict[str, object] | None = None,
) -> None:
    """Issue a fresh code for the flow (voiding its earlier ones) and queue it for delivery.

    `owner`: the account's owner asks (see `limits.reserve_send`), not an anonymous request.
    With `deliver` false (no account behind the request, so `citizen_id` is None, or the SMS-pumping
    breaker holds the number) the same work is done, statement for statement, and nothing is stored
    or sent: the answer and its timing say nothing about which it was. `params`: more values for the
    message's text (the counter's link)."""
    assert purpose in PURPOSES
    if channel == "sms":
        destination = check_sms_destination(destination)
    if not reserved:
        deliver = limits.reserve_send(
            provider, destination, client_ip, owner=owner, verified=purpose not in UNVERIFIED_PURPOSES
        )
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
    text = t(lang, f"sms.code.{purpose}", code=code, minutes=policy.CODE_TTL // 60, **(params or {}))
    notify.send(
        provider,
        channel=channel,
        to=destination,
        purpose=purpose,
        text=text,
        code=code,
        subject=t(lang, "email.code.subject"),
        deliver=deliver,
        give_up_at=now + policy.CODE_TTL,  # a code that arrives after it expired only confuses
        replaces=f"code:{purpose}:{flow_id}",  # this flow's earlier codes are void: never send them late
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


def _budget_key(citizen_id: str, flow_id: str | None) -> str:
    """The flow's code budget; a check outside any flow (the account page) has the account's own."""
    return f"code:flow:{flow_id}" if flow_id else f"code:account:{citizen_id}"


def _lock_at_hard_cap(consecutive: int) -> tuple[int, bool]:
    """The account-wide count only locks: the waits belong to each flow."""
    return 0, consecutive >= policy.CODE_HARD_CAP


def check_not_blocked(provider: Provider, citizen_id: str, *, flow_id: str | None = None) -> None:
    now = provider.clock.now()
    if provider.store.failures.state(citizen_id, "code").locked:
        raise CodeRefused("locked")
    state = provider.store.budgets.state(_budget_key(citizen_id, flow_id), now)
    if state.locked:
        raise CodeRefused("locked")
    if state.blocked_until > now:
        raise CodeRefused("blocked", state.blocked_until - now)


def reserve_try(provider: Provider, citizen_id: str, *, flow_id: str | None = None) -> None:
    """Spend one try of the flow's code budget before a code is compared (refused while the flow
    must wait or the factor is locked); `count_failure` or `clear_failures` follows the comparison."""
    now = provider.clock.now()
    if provider.store.failures.state(citizen_id, "code").locked:
        raise CodeRefused("locked")
    counted, state = provider.store.budgets.reserve(
        _budget_key(citizen_id, flow_id), now, limits.code_delay, now + policy.BUDGET_TTL
    )
    if not counted:
        raise CodeRefused("locked" if state.locked else "blocked", max(state.blocked_until - now, 0))


def count_failure(provider: Provider, citizen_id: str) -> None:
    """A reserved try failed: it counts towards the account's hard cap."""
    state = provider.store.failures.record(citizen_id, "code", provider.clock.now(), _lock_at_hard_cap)
    if state.locked:
        audit.record(
            provider,
            action="factor.lock",
            outcome="success",
            actor="system",
            subject=f"citizen:{citizen_id}",
            detail={"reason": "code_failures"},
        )


def record_failure(provider: Provider, citizen_id: str, *, flow_id: str | None = None) -> None:
    """A failure from a check that did not reserve its try."""
    now = provider.clock.now()
    provider.store.budgets.record(_budget_key(citizen_id, flow_id), now, limits.code_delay, now + policy.BUDGET_TTL)
    count_failure(provider, citizen_id)


def clear_failures(provider: Provider, citizen_id: str, *, flow_id: str | None = None) -> None:
    """A right code: the flow's budget and the account's count start again."""
    provider.store.budgets.clear(_budget_key(citizen_id, flow_id))
    provider.store.failures.clear(citizen_id, "code", provider.clock.now())


def verify_code(provider: Provider, *, citizen_id: str, purpose: str, flow_id: str, code: str) -> ChallengeRecord:
    check_not_blocked(provider, citizen_id, flow_id=flow_id)
    now = provider.clock.now()
    challenge = provider.store.challenges.live_for_flow(flow_id, purpose, now)
    if challenge is None or challenge.citizen_id != citizen_id:
        raise CodeRefused("expired")
    reserve_try(provider, citizen_id, flow_id=flow_id)
    taken = provider.store.challenges.take_attempt(challenge.id, now, policy.CODE_TRIES)
    if taken is None:
        raise CodeRefused("no_tries_left")
    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()) or not provider.secrets.mac_matches(
        _label(challenge.id), code, taken.code_digest
    ):
        count_failure(provider, citizen_id)
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
    clear_failures(provider, citizen_id, flow_id=flow_id)
    audit.record(
        provider, action="code.used", outcome="success", subject=f"citizen:{citizen_id}", detail={"purpose": purpose}
    )
    return taken
