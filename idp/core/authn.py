"""Password authentication of citizens, under the failure limits.

An unknown account, a wrong password, a temporarily blocked and a locked account all give the
same answer and cost the same argon2 check, so the login form cannot tell anyone who has an
account or whether it is locked. Failures count per account (growing delays, then a lock
that only a password reset by SMS code lifts) and per client IP.
"""

from __future__ import annotations

from idp.core import audit, limits, logout
from idp.core.identity import phone_or_none
from idp.core.provider import Provider
from idp.errors import Refusal
from idp.store.limits import NOBODY
from idp.store.records import CitizenRecord


class LoginFailed(Refusal):
    """Wrong identifier or password, or an account that may not log in now; says no more."""

    status_code = 401
    error = "login_failed"
    message_key = "login.failed"


def verify_password(provider: Provider, identifier: str, password: str, client_ip: str) -> CitizenRecord:
    identifier = identifier.strip()
    limits.check_ip_login_budget(provider, client_ip)
    found = None
    if identifier and password and len(identifier) <= 32 and len(password) <= 1024:
        found = provider.store.citizens.find_for_login(identifier, phone_or_none(identifier))
    citizen, stored_hash = found if found else (None, None)
    now = provider.clock.now()
    # Nobody's state is read too, and nobody's failure counted below: the same statements either way.
    state = provider.store.failures.state(citizen.id if citizen else NOBODY, "password")
    refused_before_check = citizen is not None and (state.locked or state.blocked_until > now)
    matches = provider.passwords.verify(None if refused_before_check else stored_hash, password[:1024])
    subject = f"citizen:{citizen.id}" if citizen else None
    if citizen is None or stored_hash is None or not matches:
        limits.count_ip_login_failure(provider, client_ip)
        reason = "blocked" if refused_before_check else "password"
        if citizen is None or refused_before_check:
            provider.store.failures.record_decoy("password", now)
        else:
            failed = provider.store.failures.record(citizen.id, "password", now, limits.password_delay)
            if failed.locked:
                logout.end_account(provider, citizen.id)
                audit.record(
                    provider,
                    action="citizen.lock",
                    outcome="success",
                    actor="system",
                    subject=subject,
                    detail={"reason": "password_failures"},
                )
        audit.record(
            provider,
            action="citizen.login.password",
            outcome="failure",
            actor=subject,
            subject=subject,
            ip=client_ip,
            detail={"reason": reason if citizen else "unknown_account"},
        )
        raise LoginFailed()
    if citizen.status != "active":
        audit.record(
            provider,
            action="citizen.login.password",
            outcome="denied",
            actor=subject,
            subject=subject,
            ip=client_ip,
            detail={"reason": citizen.status},
        )
        raise LoginFailed()
    audit.record(
        provider, action="citizen.login.password", outcome="success", actor=subject, subject=subject, ip=client_ip
    )
    if state.consecutive:
        provider.store.failures.clear(citizen.id, "password", now)
    if provider.passwords.needs_rehash(stored_hash):
        provider.store.citizens.set_password_hash(citizen.id, provider.passwords.hash(password), now)
    return citizen
