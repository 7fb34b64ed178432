"""Password authentication of citizens, under the failure limits.

An unknown account, a wrong password, a temporarily blocked and a locked account all give the
same answer and cost the same argon2 check, so the login form cannot tell anyone who has an
account or whether it is locked. Failures count per client IP, and per account *and device*
(`idp.core.devices`): tries from the owner's known browser spend that browser's budget, every
other try the account's shared budget for unknown devices (growing delays, then a lock that only
a password reset by SMS code lifts). The try is reserved before the hash is checked, so parallel
guesses get no more checks than the free tries.

Every form that checks a password goes through `check_password`: the login form, and the forms
a signed-in citizen types it again in (re-authentication, phone change, password change), so a
session cookie buys no extra guesses and each try is audited under the form's own action.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.core import audit, devices, limits
from idp.core.identity import phone_or_none
from idp.core.provider import Provider
from idp.errors import Refusal
from idp.store.records import CitizenRecord


class LoginFailed(Refusal):
    """Wrong identifier or password, or an account that may not log in now; says no more."""

    status_code = 401
    error = "login_failed"
    message_key = "login.failed"


LOGIN = "citizen.login.password"


def verify_password(
    provider: Provider, identifier: str, password: str, client_ip: str, *, device: str | None = None
) -> CitizenRecord:
    """`device`: the browser's device cookie, if it sent one (see `idp.core.devices`)."""
    check = begin_login(provider, identifier, password, client_ip, device=device)
    return _checked(provider, check, password, client_ip, LOGIN)


def begin_login(
    provider: Provider, identifier: str, password: str, client_ip: str, *, device: str | None = None
) -> PasswordCheck:
    """The login form's check up to the hash: the account looked up and the try reserved (the
    database steps of `verify_password`, for a caller that runs the hash elsewhere)."""
    identifier = identifier.strip()
    found = None
    if identifier and password and len(identifier) <= 32 and len(password) <= 1024:
        found = provider.store.citizens.find_for_login(identifier, phone_or_none(identifier))
    return begin_check(provider, found, client_ip, device=device, identifier=identifier)


def confirm_password(
    provider: Provider, citizen_id: str, password: str, client_ip: str, *, action: str, device: str | None = None
) -> CitizenRecord:
    """A signed-in citizen's password typed again; `action` names the form in the audit trail."""
    citizen = provider.store.citizens.get(citizen_id)
    found = None
    if citizen is not None and password and len(password) <= 1024:
        found = provider.store.citizens.find_for_login(citizen.id_number, None)
    return check_password(provider, found, password, client_ip, action=action, device=device)


def check_password(
    provider: Provider,
    found: tuple[CitizenRecord, str] | None,
    password: str,
    client_ip: str,
    *,
    action: str,
    device: str | None = None,
    identifier: str = "",
) -> CitizenRecord:
    """The one password check under the login limiter: the per-IP budget, the account's failure
    counter and lock, the audit event.

    An account that must wait is told so, and for how long (`TooManyAttempts`), even when the
    password is right: otherwise its owner goes and resets a good password. An identifier with no
    account behind it keeps a failure count of its own under the same delays, so it is answered
    the same words after the same number of tries: the wait says nothing about who is registered.

    In three steps (`begin_check`, the hash, `finish_check`) so that the login form can run the two
    database steps where its database work runs and only the hash under the password slots."""
    check = begin_check(provider, found, client_ip, device=device, identifier=identifier)
    return _checked(provider, check, password, client_ip, action)


def _checked(provider: Provider, check: PasswordCheck, password: str, client_ip: str, action: str) -> CitizenRecord:
    matches = provider.passwords.verify(check.hash_to_verify, password[:1024])
    citizen = finish_check(provider, check, matches, client_ip, action)
    if check.needs_rehash(provider):  # the hash is made outside the transaction
        rehash(provider, citizen, password)
    return citizen


@dataclass(frozen=True)
class PasswordCheck:
    """A password check between its database steps: the try is reserved (and committed), the hash
    still to be compared."""

    citizen: CitizenRecord | None
    stored_hash: str | None
    reserved: limits.PasswordTry
    typed: limits.PasswordTry
    known: bool

    @property
    def refused_before_check(self) -> bool:
        return not self.reserved.counted

    @property
    def hash_to_verify(self) -> str | None:
        """None (the decoy is hashed instead) for no account, or a try refused before the check."""
        return None if self.refused_before_check else self.stored_hash

    def needs_rehash(self, provider: Provider) -> bool:
        return self.stored_hash is not None and provider.passwords.needs_rehash(self.stored_hash)


def begin_check(
    provider: Provider,
    found: tuple[CitizenRecord, str] | None,
    client_ip: str,
    *,
    device: str | None = None,
    identifier: str = "",
) -> PasswordCheck:
    limits.check_ip_login_budget(provider, client_ip)
    citizen, stored_hash = found if found else (None, None)
    subject = f"citizen:{citizen.id}" if citizen else None
    known = devices.is_known(provider, subject or "citizen:-", device)
    # Every identifier typed has a count of its own, with or without an account behind it: the
    # same statements run either way, and for nobody it is the count that makes them wait.
    typed = limits.reserve_identifier_try(provider, identifier)
    if citizen is not None:
        device_key = devices.budget_key("password", subject or "", device or "") if known else None
        reserved = limits.reserve_password_try(provider, citizen.id, device_key)
    else:  # the same statements for nobody, so the answer's timing does not tell who has an account
        provider.store.failures.reserve_decoy("password", provider.clock.now())
        reserved = typed
    return PasswordCheck(citizen, stored_hash, reserved, typed, known)


def finish_check(provider: Provider, check: PasswordCheck, matches: bool, client_ip: str, action: str) -> CitizenRecord:
    """What follows the hash, in one transaction: the counters, the lock and the audit events are
    written together (a refusal commits them before it is raised), instead of one commit each."""
    with provider.store.unit_of_work():
        _after_check(
            provider,
            check.citizen,
            matches,
            check.reserved,
            check.typed,
            check.known,
            client_ip,
            action,
            check.refused_before_check,
        )
    assert check.citizen is not None  # a wrong or absent account was refused above
    return check.citizen


def rehash(provider: Provider, citizen: CitizenRecord, password: str) -> None:
    """The password, right and hashed under an older profile, hashed again under today's."""
    provider.store.citizens.set_password_hash(citizen.id, provider.passwords.hash(password), provider.clock.now())


def _after_check(
    provider: Provider,
    citizen: CitizenRecord | None,
    matches: bool,
    reserved: limits.PasswordTry,
    typed: limits.PasswordTry,
    known: bool,
    client_ip: str,
    action: str,
    refused_before_check: bool,
) -> None:
    """The outcome of one password check, recorded; raises the refusal when it failed."""
    subject = f"citizen:{citizen.id}" if citizen else None
    if citizen is None or not matches:
        limits.count_ip_login_failure(provider, client_ip)
        reason = "blocked" if refused_before_check else "password"
        if citizen is not None and reserved.counted and reserved.state.locked:
            # The hard cap locks out unknown devices (or stops trusting one known device); the owner's
            # known browsers keep their own budgets, so nothing the account was given is revoked here:
            # otherwise a stranger's guesses would log the owner out of every portal.
            audit.record(
                provider,
                action="citizen.lock" if reserved.device_key is None else "citizen.device.untrusted",
                outcome="success",
                actor="system",
                subject=subject,
                detail={"reason": "password_failures"},
            )
        audit.record(
            provider,
            action=action,
            outcome="failure",
            actor=subject,
            subject=subject,
            ip=client_ip,
            detail={"reason": reason if citizen else "unknown_account", "device": "known" if known else "unknown"},
        )
        if refused_before_check:
            now = provider.clock.now()
            raise limits.TooManyAttempts(
                max(reserved.state.blocked_until - now, 0), scope="account", locked=reserved.state.locked
            )
        raise LoginFailed()
    # The password was right: both tries released, in the order `begin_check` reserved them (on
    # PostgreSQL each row stays locked until the unit commits; another order deadlocks with a
    # parallel login to the same account that is reserving).
    limits.release_password_try(provider, citizen.id, typed)
    limits.release_password_try(provider, citizen.id, reserved)
    if citizen.status != "active":
        audit.record(
            provider,
            action=action,
            outcome="denied",
            actor=subject,
            subject=subject,
            ip=client_ip,
            detail={"reason": citizen.status},
        )
        raise LoginFailed()
    audit.record(provider, action=action, outcome="success", actor=subject, subject=subject, ip=client_ip)
