"""The checks that apply the attempt and send limits: growing delays, hard caps, send budgets.

The values, and why each is what it is, live in `idp.core.policy` (the README's security section
lists them with their sources). Counters live in the database, so every provider process sees the
same numbers.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from idp.core.policy import (
    ANONYMOUS_SENDS_PER_DESTINATION_PER_DAY,
    BUDGET_TTL,
    CODE_FREE_TRIES,
    CODE_HARD_CAP,
    DAY,
    HOUR,
    IPV6_BLOCK_PREFIX,
    LOGIN_FAILURE_WINDOW,
    LOGIN_FAILURES_PER_IP,
    MAX_DELAY,
    PASSWORD_FREE_TRIES,
    PASSWORD_HARD_CAP,
    RESEND_COOLDOWN,
    SENDS_PER_DESTINATION_PER_DAY,
    SENDS_PER_IP_PER_DAY,
    SMS_PREFIX_DROPPED_DIGITS,
)
from idp.core.provider import Provider
from idp.crypto.opaque import digest
from idp.errors import Refusal, TemporarilyUnavailable
from idp.metrics import SMS_BREAKER_TRIPS
from idp.store.limits import FailureState

log = logging.getLogger(__name__)


def minutes(seconds: int) -> int:
    """A wait in whole minutes, rounded up: people are told never less than they must wait."""
    return max(1, -(-seconds // 60))


class TooManyAttempts(Refusal):
    """Refused before any check: the account or address must wait (`retry_after` seconds), or the
    account is locked until a reset. Said as it is, so a citizen with the right password does not
    go and reset it; an unknown identifier gets exactly the same words (see `authn`)."""

    status_code = 429
    error = "slow_down"

    def __init__(self, retry_after: int, *, scope: str = "address", locked: bool = False) -> None:
        super().__init__(f"retry after {retry_after}s" if not locked else "locked until a reset")
        self.retry_after = retry_after
        self.scope = scope
        self.locked = locked

    @property
    def message_key(self) -> str:  # type: ignore[override]
        if self.locked:
            return "login.locked_reset"
        return "login.wait" if self.scope == "account" else "login.too_many"

    @property
    def message_params(self) -> dict[str, object]:
        return {"minutes": minutes(self.retry_after)}


class SendRefused(Refusal):
    """No code is sent: too soon after the last one, a daily cap reached, or not a VN mobile."""

    status_code = 429
    error = "slow_down"

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def message_key(self) -> str:  # type: ignore[override]
        return _SEND_REFUSALS.get(self.reason, "code.send_refused")

    @property
    def message_params(self) -> dict[str, object]:
        return {"seconds": self.retry_after or RESEND_COOLDOWN, "minutes": minutes(self.retry_after or 60)}

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after or 60)}


# Why no code was sent, in words: the cooldown says how long to wait; a daily cap says tomorrow.
_SEND_REFUSALS = {
    "cooldown": "code.resend_wait",
    "daily_cap": "code.daily_cap",
    "ip_cap": "code.daily_cap",
    "destination": "code.not_mobile",
}


def _growing_delay(consecutive: int, free: int, cap: int, first: int) -> tuple[int, bool]:
    if consecutive >= cap:
        return 0, True
    if consecutive < free:
        return 0, False
    return min(first * 2 ** (consecutive - free), MAX_DELAY), False


def password_delay(consecutive: int) -> tuple[int, bool]:
    return _growing_delay(consecutive, PASSWORD_FREE_TRIES, PASSWORD_HARD_CAP, 60)


def code_delay(consecutive: int) -> tuple[int, bool]:
    return _growing_delay(consecutive, CODE_FREE_TRIES, CODE_HARD_CAP, 30)


def check_ip_login_budget(provider: Provider, client_ip: str) -> None:
    now = provider.clock.now()
    if provider.store.counters.peek(f"login-fail-ip:{client_ip}", now) >= LOGIN_FAILURES_PER_IP:
        raise TooManyAttempts(LOGIN_FAILURE_WINDOW)


def count_ip_login_failure(provider: Provider, client_ip: str) -> None:
    provider.store.counters.hit(f"login-fail-ip:{client_ip}", LOGIN_FAILURE_WINDOW, provider.clock.now())


def address_block(client_ip: str) -> str:
    """What per-address budgets count under: the address itself, or its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_BLOCK_PREFIX}", strict=False))
    return str(address)


def reserve_interaction(provider: Provider, client_ip: str) -> None:
    """Count one parked authorization request against its address's budget and the overall one,
    per interaction lifetime; refuse (`temporarily_unavailable`) past either. An address over
    its own budget spends nothing of the overall one, so one script cannot shut out everyone."""
    now, settings = provider.clock.now(), provider.settings
    window = settings.interaction_ttl
    if provider.store.counters.hit(f"interactions-ip:{address_block(client_ip)}", window, now) > (
        settings.interactions_per_address
    ):
        log.info("interaction refused: the budget of %s is spent", address_block(client_ip))
        raise TemporarilyUnavailable("too many logins were started from this address; try again later")
    if provider.store.counters.hit("interactions", window, now) > settings.interactions_overall:
        log.warning("interaction refused: the overall budget of %d is spent", settings.interactions_overall)
        raise TemporarilyUnavailable("too many logins are in progress; try again later")


def reserve_send(
    provider: Provider, destination: str, client_ip: str, *, owner: bool = False, verified: bool = False
) -> bool:
    """Count a send against the cooldown and the daily caps; refuse when one is exceeded. Returns
    whether the message may leave: False when the SMS-pumping breaker holds it, which the caller
    hides (the same answer, the same work, no message).

    `owner`: the request comes from the account's owner (password proven in this flow, signed in,
    or a known device); its sends have their own daily budget, which anonymous requests cannot spend.
    `verified`: the destination is a number an account has proven, which the breaker never holds."""
    now = provider.clock.now()
    counters = provider.store.counters
    if counters.hit(f"send-cooldown:{destination}", RESEND_COOLDOWN, now) > 1:
        raise SendRefused("cooldown", counters.remaining(f"send-cooldown:{destination}", now) or RESEND_COOLDOWN)
    day_key, day_cap = _daily_send_budget(destination, owner)
    if counters.hit(day_key, DAY, now) > day_cap:
        raise SendRefused("daily_cap", DAY)
    if counters.hit(f"send-ip-day:{client_ip}", DAY, now) > SENDS_PER_IP_PER_DAY:
        raise SendRefused("ip_cap", DAY)
    return verified or pumping_breaker_closed(provider, destination)


def pumping_breaker_closed(provider: Provider, destination: str) -> bool:
    """Count a send to a number nobody has proven against the hourly budgets, for its block of
    numbers and in all; False once either is spent, for the rest of that hour. The breaker opens
    once per budget and window, with a metric and a WARNING for whoever watches the gateway bill."""
    if not destination.startswith("+"):
        return True  # an email address, or a key that stands for no number: nothing to pump
    now = provider.clock.now()
    settings = provider.settings
    closed = True
    for scope, key, budget in (
        ("prefix", f"sms-hour:{destination[:-SMS_PREFIX_DROPPED_DIGITS]}", settings.sms_prefix_hourly_budget),
        ("global", "sms-hour", settings.sms_global_hourly_budget),
    ):
        sent = provider.store.counters.hit(key, HOUR, now)
        if sent == budget + 1:
            SMS_BREAKER_TRIPS.labels(scope).inc()
            log.warning("SMS pumping breaker opened: %s budget of %d an hour spent (%s)", scope, budget, key)
        closed = closed and sent <= budget
    return closed


def _daily_send_budget(destination: str, owner: bool) -> tuple[str, int]:
    if owner:
        return f"send-day-owner:{destination}", SENDS_PER_DESTINATION_PER_DAY
    return f"send-day:{destination}", ANONYMOUS_SENDS_PER_DESTINATION_PER_DAY


@dataclass(frozen=True)
class PasswordTry:
    """A password try reserved before the hash is checked. `device_key`: the known device's
    budget it was counted in (None: the account's shared budget for unknown devices)."""

    counted: bool
    state: FailureState
    device_key: str | None


def reserve_password_try(provider: Provider, citizen_id: str, device_key: str | None = None) -> PasswordTry:
    """Spend one password try of the account (or of its known device) before the hash is checked,
    atomically, so parallel guesses get no more checks than sequential ones. A known device that
    reached the hard cap itself is no longer trusted: its tries spend the shared budget."""
    now = provider.clock.now()
    if device_key is not None and not provider.store.budgets.state(device_key, now).locked:
        counted, state = provider.store.budgets.reserve(device_key, now, password_delay, now + BUDGET_TTL)
        return PasswordTry(counted, state, device_key)
    counted, state = provider.store.failures.reserve(citizen_id, "password", now, password_delay)
    return PasswordTry(counted, state, None)


def reserve_identifier_try(provider: Provider, identifier: str) -> PasswordTry:
    """A password try counted for the identifier as typed, under its digest (never the identifier
    itself), with an account's delays and lock: what makes an identifier with no account wait
    exactly as an account would."""
    now = provider.clock.now()
    key = "password:unknown:" + digest(identifier.strip().casefold())
    counted, state = provider.store.budgets.reserve(key, now, password_delay, now + BUDGET_TTL)
    return PasswordTry(counted, state, key)


def release_password_try(provider: Provider, citizen_id: str, reserved: PasswordTry) -> None:
    """The password was right: the reserved try (and the failures before it) are forgotten."""
    if reserved.device_key is not None:
        provider.store.budgets.clear(reserved.device_key)
    else:
        provider.store.failures.clear(citizen_id, "password", provider.clock.now())
