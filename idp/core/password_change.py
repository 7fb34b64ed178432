"""A signed-in citizen changes the password.

The current password is checked under the login limiter, like every form that checks one. The new
one follows the one password policy. A change ends every other session and every grant of the
account (so a thief's cookie and refresh tokens die with the old password) and tells the citizen
on every channel the account has, so a change they did not make does not go unnoticed.
"""

from __future__ import annotations

from idp.core import audit, notify
from idp.core.authn import confirm_password
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider
from idp.i18n import t
from idp.store.records import SessionRecord

__all__ = ["CHANGE", "change_password"]

CHANGE = "citizen.password_change.password"


def change_password(
    provider: Provider,
    session: SessionRecord,
    current: str,
    new: str,
    *,
    client_ip: str,
    lang: str,
    device: str | None = None,
) -> None:
    """Raises `authn.LoginFailed` / `limits.TooManyAttempts` for the current password and
    `ValidationError` for a new one the policy refuses."""
    citizen = confirm_password(provider, session.citizen_id, current, client_ip, action=CHANGE, device=device)
    check_new_password(new, id_number=citizen.id_number, phone=citizen.phone, full_name=citizen.full_name)
    now = provider.clock.now()
    provider.store.citizens.set_password_hash(citizen.id, provider.passwords.hash(new), now)
    provider.store.sessions.end_all_for(citizen.id, now, keep=session.id_digest)
    provider.store.grants.revoke_all_for(citizen.id, now)
    text = t(lang, "sms.notice.password_changed")
    notify.tell_every_channel(provider, citizen, sms=text, email=text, lang=lang)
    audit.record(
        provider,
        action="citizen.password_changed",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        ip=client_ip,
    )
