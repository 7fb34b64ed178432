"""Forgotten password: an SMS code to the account's phone, then a new password.

The first step answers the same whether or not the account exists. Recovery is never cheaper
than login: an account with an authenticator app or a passkey also needs the app's code, a
recovery code or one of its passkeys (without any, the citizen recovers at the counter), since a
SIM can be swapped. Setting the new password ends every session and every grant of the account
(so refresh tokens die), lifts the password lock (never a lock an administrator set) and tells
every channel the account has.
"""

from __future__ import annotations

from idp.core import audit, devices, factors, flows, limits, notify, otp, passkeys
from idp.core.identity import phone_or_none
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider
from idp.errors import Expired
from idp.i18n import t
from idp.store.records import CitizenRecord

# Where the decoy code of a reset with no account is "sent": a well-formed mobile number, so the decoy
# does the same checks; nothing is ever queued for it.
DECOY_PHONE = "+84900000000"


class SecondFactorMissing(Expired):
    """The SMS code was right, but the account has an authenticator app or a passkey and the app's
    code, a recovery code or a passkey's answer was missing or wrong. The SMS code is spent with it,
    so each guess at the app costs the guesser a fresh SMS (capped per day): the reset starts again,
    or goes to the counter."""

    status_code = 401
    error = "second_factor_required"
    message_key = "reset.factor_refused"


def start(
    provider: Provider,
    identifier: str,
    *,
    client_ip: str,
    lang: str,
    device: str | None = None,
    return_to: str | None = None,
) -> flows.StartedFlow:
    """Without an active account behind `identifier` the same statements run (the lookup, the send
    counters, the flow, a code's challenge and outbox rows that are never stored, the audit event)
    and no SMS goes to anyone, so neither the answer nor its timing says whether the account exists.
    One transaction: a commit that wrote the code's rows would otherwise flush more than one that
    did not, and that difference is measurable.

    `device`: the browser's device cookie; from the owner's known browser the code comes out of the
    owner's own daily SMS budget, so anonymous resets cannot use it up.

    `return_to`: the portal login the citizen came from (kept with the flow, for every account or
    none), where the finished reset leads back."""
    with provider.store.unit_of_work():
        return _start(provider, identifier, client_ip=client_ip, lang=lang, device=device, return_to=return_to)


def _start(
    provider: Provider, identifier: str, *, client_ip: str, lang: str, device: str | None, return_to: str | None
) -> flows.StartedFlow:
    identifier = identifier.strip()[:32]
    phone = phone_or_none(identifier)
    found = provider.store.citizens.find_for_login(identifier, phone)
    citizen = found[0] if found and found[0].status == "active" else None
    owner = devices.is_known(provider, f"citizen:{citizen.id}" if citizen else "citizen:-", device)
    destination = citizen.phone if citizen else (phone or f"id:{identifier}")
    limits.reserve_send(provider, destination, client_ip, owner=owner, verified=True)
    started = flows.start(provider, "reset", citizen.id if citizen else None, {"return_to": return_to})
    otp.send_code(
        provider,
        citizen_id=citizen.id if citizen else None,
        purpose="reset",
        destination=citizen.phone if citizen else DECOY_PHONE,
        flow_id=started.flow_id,
        client_ip=client_ip,
        lang=lang,
        reserved=True,
        deliver=citizen is not None,
    )
    return started


def finish(
    provider: Provider,
    flow_id: str,
    secret: str | None,
    code: str,
    new_password: str,
    *,
    factor_code: str = "",
    passkey_credential: str = "",
    lang: str = "vi",
) -> str | None:
    """Set the new password; returns where the citizen goes on (the login they came from)."""
    flow = flows.load(provider, flow_id, secret, "reset")
    citizen = provider.store.citizens.get(flow.citizen_id) if flow.citizen_id else None
    if citizen is None:
        raise otp.refusal_without_account(provider, flow.id)
    check_new_password(new_password, id_number=citizen.id_number, phone=citizen.phone, full_name=citizen.full_name)
    otp.verify_code(provider, citizen_id=citizen.id, purpose="reset", flow_id=flow.id, code=code)
    _check_second_factor(provider, citizen, flow.id, factor_code, passkey_credential, lang)
    now = provider.clock.now()
    provider.store.citizens.set_password_hash(citizen.id, provider.passwords.hash(new_password), now)
    provider.store.failures.clear(citizen.id, "password", now, unlock=True)
    provider.store.sessions.end_all_for(citizen.id, now)
    provider.store.grants.revoke_all_for(citizen.id, now)
    provider.store.flows.complete(flow.id, now)
    audit.record(
        provider,
        action="citizen.password_reset",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
    )
    notify.tell_every_channel(
        provider,
        citizen,
        sms=t(lang, "sms.notice.password_reset"),
        email=t(lang, "email.notice.password_reset"),
        lang=lang,
    )
    return_to = flow.data.get("return_to")
    return return_to if isinstance(return_to, str) else None


def passkey_options(provider: Provider, flow_id: str, secret: str | None) -> dict[str, object] | None:
    """The passkey ceremony's options for this reset's page: made for every live reset flow,
    account or none, and listing no credential, so the page says nothing about the account. None
    once the flow is spent (a refused reset starts again)."""
    try:
        flow = flows.load(provider, flow_id, secret, "reset")
    except flows.FlowGone:
        return None
    return passkeys.begin_reset(provider, flow.id, flow.citizen_id)


def _check_second_factor(
    provider: Provider, citizen: CitizenRecord, flow_id: str, factor_code: str, passkey_credential: str, lang: str
) -> None:
    """Checked only after the SMS code, so nobody without the SIM learns whether the account has an app,
    nor gets to guess at the app's codes. A passkey's assertion (one of this citizen's, user verified,
    answering this flow's challenge) stands in for the app's code or a recovery code."""
    if not factors.stronger_than_sms(provider, citizen.id):
        return
    if passkey_credential and passkeys.verify_for_reset(provider, flow_id, citizen.id, passkey_credential, lang):
        return
    if factor_code.strip() and factors.verify_app_or_recovery_code(provider, citizen.id, factor_code, flow_id=flow_id):
        return
    provider.store.flows.complete(flow_id, provider.clock.now())
    missing = not factor_code.strip() and not passkey_credential
    audit.record(
        provider,
        action="citizen.password_reset",
        outcome="failure",
        subject=f"citizen:{citizen.id}",
        detail={"reason": "second_factor_missing" if missing else "second_factor_wrong"},
    )
    raise SecondFactorMissing("an account with an authenticator app or a passkey resets with the SMS code and it")
