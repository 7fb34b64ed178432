"""The checks that apply the attempt and send limits: growing delays, hard caps, send budgets.

The values, and why each is what it is, live in `idp.core.policy` (the README's security section
lists them with their sources). Counters live in the database, so every provider process sees the
same numbers.
"""

from __future__ import annotations

import logging

from idp.core.policy import (
    CODE_FREE_TRIES,
    CODE_HARD_CAP,
    DAY,
    HOUR,
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
from idp.errors import Refusal
from idp.observability import SMS_BREAKER_TRIPS

log = logging.getLogger(__name__)


class TooManyAttempts(Refusal):
    """Refused before any check: the account or address must wait (`retry_after` seconds)."""

    status_code = 429
    error = "slow_down"
    message_key = "login.too_many"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class SendRefused(Refusal):
    """No code is sent: too soon after the last one, a daily cap reached, or not a VN mobile."""

    status_code = 429
    error = "slow_down"
    message_key = "code.send_refused"

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after or 60)}


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


def reserve_send(provider: Provider, destination: str, client_ip: str, *, verified: bool = False) -> bool:
    """Count a send against the cooldown and the daily caps; refuse when one is exceeded. Returns
    whether the message may leave: False when the SMS-pumping breaker holds it, which the caller
    hides (the same answer, the same work, no message). `verified` says the destination is a number
    an account has proven, which the breaker never holds."""
    now = provider.clock.now()
    counters = provider.store.counters
    if counters.hit(f"send-cooldown:{destination}", RESEND_COOLDOWN, now) > 1:
        raise SendRefused("cooldown", RESEND_COOLDOWN)
    if counters.hit(f"send-day:{destination}", DAY, now) > SENDS_PER_DESTINATION_PER_DAY:
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
