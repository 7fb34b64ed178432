"""Recent authentication ("sudo mode"): a session cookie alone never changes how the account is
protected.

Changing the phone, the password, the authenticator or the recovery codes needs the password
(and, on an account with an authenticator app, the app's code or a recovery code) typed on this
browser session within the last `reauth_minutes` (GitHub's sudo mode, ASVS 5 V6). An SMS code
is never accepted here: on an account with an app it would let the SIM stand in for the app,
and on an account without one the password is the whole login anyway. The password goes
through the login's own limiter (`authn.confirm_password`), so these forms give no extra
guesses, and every attempt is audited.

A passkey stands in for all of it: a user-verifying assertion of one of the citizen's own
passkeys, answering a challenge issued to this browser session (`passkeys.begin_reauth`), is
possession and a PIN or biometric at once, and cannot be phished to another site.
"""

from __future__ import annotations

from idp.core import audit, factors, passkeys
from idp.core.authn import confirm_password
from idp.core.otp import CodeRefused
from idp.core.provider import Provider
from idp.store.records import SessionRecord

__all__ = [
    "REAUTH",
    "is_recent",
    "needs_second_factor",
    "passkey_options",
    "reauthenticate",
    "reauthenticate_with_passkey",
]

REAUTH = "citizen.reauth.password"


def is_recent(provider: Provider, session: SessionRecord) -> bool:
    """Whether the session's login, or its last re-authentication, is fresh enough for a change."""
    last = max(session.auth_time, session.reauthenticated_at or 0)
    return provider.clock.now() - last <= provider.settings.reauth_minutes * 60


def needs_second_factor(provider: Provider, citizen_id: str) -> bool:
    return factors.has_totp(provider, citizen_id)


def _second_factor(provider: Provider, citizen_id: str, code: str) -> str:
    """The app's 6-digit code, or a recovery code (ten characters, so never mistaken for one)."""
    typed = "".join(code.split())
    if len(typed) == 6 and typed.isascii() and typed.isdigit():
        method, accepted = "totp", factors.verify_totp_code(provider, citizen_id, typed)
    else:
        method, accepted = "recovery", bool(typed) and factors.use_recovery_code(provider, citizen_id, typed)
    if not accepted:
        audit.record(
            provider,
            action="citizen.reauth",
            outcome="failure",
            actor=f"citizen:{citizen_id}",
            subject=f"citizen:{citizen_id}",
            detail={"method": method},
        )
        raise CodeRefused("wrong")
    return method


def reauthenticate(
    provider: Provider, session: SessionRecord, password: str, code: str, client_ip: str, *, device: str | None = None
) -> None:
    """Check the password (and second factor) again and mark the session freshly authenticated.

    Raises `authn.LoginFailed` or `limits.TooManyAttempts` for the password, `otp.CodeRefused`
    for the second factor."""
    citizen = confirm_password(provider, session.citizen_id, password, client_ip, action=REAUTH, device=device)
    methods = ["pwd"]
    if needs_second_factor(provider, citizen.id):
        methods.append(_second_factor(provider, citizen.id, code))
    provider.store.sessions.mark_reauthenticated(session.id_digest, provider.clock.now())
    audit.record(
        provider,
        action="citizen.reauth",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        ip=client_ip,
        detail={"methods": methods},
    )


def passkey_options(provider: Provider, session: SessionRecord) -> dict[str, object] | None:
    """The ceremony's options when the citizen has a passkey to re-authenticate with."""
    if not passkeys.has_passkey(provider, session.citizen_id):
        return None
    return passkeys.begin_reauth(provider, session)


def reauthenticate_with_passkey(
    provider: Provider, session: SessionRecord, credential_json: str, client_ip: str, lang: str = "vi"
) -> None:
    """Mark the session freshly authenticated by a passkey; raises `passkeys.PasskeyRefused`."""
    amr = passkeys.finish_reauth(provider, session, credential_json, lang)
    provider.store.sessions.mark_reauthenticated(session.id_digest, provider.clock.now())
    audit.record(
        provider,
        action="citizen.reauth",
        outcome="success",
        actor=f"citizen:{session.citizen_id}",
        subject=f"citizen:{session.citizen_id}",
        ip=client_ip,
        detail={"methods": ["passkey", *amr]},
    )
