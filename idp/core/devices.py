"""Known devices (OWASP "Slow Down Online Guessing Attacks with Device Cookies").

A browser that once logged in to an account gets a random device cookie; the store keeps its digest
against the account (`citizen:<id>`, or `staff:<username>` folded). A password try from a known device
spends that device's own budget; every other try spends the account's shared "unknown devices" budget.
So an attacker's failures can block unknown browsers, or lock them out, but never the owner's browser.
A device that itself reaches the hard cap stops being trusted and falls back to the shared budget.
"""

from __future__ import annotations

from idp.core.policy import DEVICE_TTL
from idp.core.provider import Provider
from idp.crypto.opaque import digest, new_token

COOKIE_MAX_LENGTH = 100


def cookie_digest(cookie_value: str | None) -> str | None:
    if not cookie_value or len(cookie_value) > COOKIE_MAX_LENGTH:
        return None
    return digest(cookie_value)


def is_known(provider: Provider, subject: str, cookie_value: str | None) -> bool:
    """Whether this browser's device cookie logged in to `subject` within `DEVICE_TTL`."""
    found = cookie_digest(cookie_value)
    since = provider.clock.now() - DEVICE_TTL
    # The same query whether or not a cookie came, so its absence is not timed apart.
    return provider.store.devices.is_known(subject, found or "-", since) and found is not None


def budget_key(kind: str, subject: str, cookie_value: str) -> str:
    """The attempt-budget key of `kind` tries (`password`) from one known device."""
    return f"{kind}:device:{subject}:{digest(cookie_value)}"


def remember(provider: Provider, subject: str, cookie_value: str | None) -> str:
    """After a successful login: the browser's device cookie (its own, or a new one) is now known
    to `subject`. Returns the value to (re)set, so its lifetime restarts."""
    value = cookie_value if cookie_digest(cookie_value) is not None else None
    value = value or new_token(provider.rng, 32)
    provider.store.devices.remember(subject, digest(value), provider.clock.now())
    return value
