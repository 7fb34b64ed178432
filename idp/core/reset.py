"""Forgotten password: an SMS code to the account's phone, then a new password.

The first step answers the same whether or not the account exists. Setting the new password
ends every session and every grant of the account (so refresh tokens die) and lifts the
password lock; it never lifts a lock an administrator set.
"""

from __future__ import annotations

from idp.core import audit, flows, limits, otp
from idp.core.identity import phone_or_none
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider

# Where the decoy code of a reset with no account is "sent": a well-formed mobile number, so the decoy
# does the same checks; nothing is ever queued for it.
DECOY_PHONE = "+84900000000"


def start(provider: Provider, identifier: str, *, client_ip: str, lang: str) -> flows.StartedFlow:
    """Without an active account behind `identifier` the same statements run (the lookup, the send
    counters, the flow, a code's challenge and outbox rows that are never stored, the audit event)
    and no SMS goes to anyone, so neither the answer nor its timing says whether the account exists.
    One transaction: a commit that wrote the code's rows would otherwise flush more than one that
    did not, and that difference is measurable."""
    with provider.store.unit_of_work():
        return _start(provider, identifier, client_ip=client_ip, lang=lang)


def _start(provider: Provider, identifier: str, *, client_ip: str, lang: str) -> flows.StartedFlow:
    identifier = identifier.strip()[:32]
    phone = phone_or_none(identifier)
    found = provider.store.citizens.find_for_login(identifier, phone)
    citizen = found[0] if found and found[0].status == "active" else None
    limits.reserve_send(provider, citizen.phone if citizen else (phone or f"id:{identifier}"), client_ip, verified=True)
    started = flows.start(provider, "reset", citizen.id if citizen else None, {})
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


def finish(provider: Provider, flow_id: str, secret: str | None, code: str, new_password: str) -> None:
    flow = flows.load(provider, flow_id, secret, "reset")
    citizen = provider.store.citizens.get(flow.citizen_id) if flow.citizen_id else None
    if citizen is None:
        raise otp.CodeRefused("wrong")
    check_new_password(new_password, id_number=citizen.id_number, phone=citizen.phone, full_name=citizen.full_name)
    otp.verify_code(provider, citizen_id=citizen.id, purpose="reset", flow_id=flow.id, code=code)
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
