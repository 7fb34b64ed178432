"""Password authentication of citizens.

An unknown account and a wrong password give the same answer and cost the same argon2
check, so the login form cannot be used to find out who has an account.
"""

from __future__ import annotations

from idp.core.identity import normalize_phone
from idp.core.provider import Provider
from idp.errors import IdpError, ValidationError
from idp.store.records import CitizenRecord


class LoginFailed(IdpError):
    """Wrong identifier or password; deliberately says no more than that."""


class AccountUnavailable(IdpError):
    """The password was right but the account may not log in (locked or pending)."""


def _phone_or_none(identifier: str) -> str | None:
    try:
        return normalize_phone(identifier)
    except ValidationError:
        return None


def verify_password(provider: Provider, identifier: str, password: str) -> CitizenRecord:
    identifier = identifier.strip()
    if not identifier or not password or len(identifier) > 32 or len(password) > 1024:
        provider.passwords.verify(None, password[:1024])
        raise LoginFailed()
    found = provider.store.citizens.find_for_login(identifier, _phone_or_none(identifier))
    citizen, stored_hash = found if found else (None, None)
    if not provider.passwords.verify(stored_hash, password) or citizen is None or stored_hash is None:
        raise LoginFailed()
    if citizen.status != "active":
        raise AccountUnavailable()
    if provider.passwords.needs_rehash(stored_hash):
        provider.store.citizens.set_password_hash(citizen.id, provider.passwords.hash(password), provider.clock.now())
    return citizen
