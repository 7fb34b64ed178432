"""Citizens register themselves: declared identity checked offline, phone proven by an SMS code.

The account is created *pending* and becomes *active* (LoA1) when the code is entered.
Registering an ID number or phone that already exists answers exactly like a new one (same
steps, an argon2 hash included, so similar time); the holder is told by SMS instead.

Registering again with the same ID number *and* phone while that account is still pending is the
citizen retrying a registration whose answer was lost (a crash, a dropped connection): a fresh
code goes to that phone and the new flow carries on. The password typed this time is kept with
the flow and becomes the account's when that flow's code is entered, so only whoever holds the
phone decides it. A duplicate of an *active* account still only tells its holder.
"""

from __future__ import annotations

import logging
import uuid

from idp.core import audit, flows, limits, notify, otp, policy
from idp.core.accounts import CitizenDeclaration, validate
from idp.core.levels import LOA1
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider
from idp.i18n import t
from idp.store.records import CitizenRecord, Conflict

log = logging.getLogger(__name__)


def register(
    provider: Provider,
    declaration: CitizenDeclaration,
    password: str,
    *,
    client_ip: str,
    lang: str,
    return_to: str | None = None,
) -> flows.StartedFlow:
    values = validate(provider, declaration)
    check_new_password(
        password, id_number=str(values["id_number"]), phone=str(values["phone"]), full_name=str(values["full_name"])
    )
    phone = str(values["phone"])
    deliver = limits.reserve_send(provider, phone, client_ip)
    password_hash = provider.passwords.hash(password)
    now = provider.clock.now()
    provider.store.citizens.remove_stale_pending(str(values["id_number"]), phone, now - policy.PENDING_ACCOUNT_TTL)
    data = {"return_to": return_to, "phone": phone}
    try:
        citizen = provider.store.citizens.add(
            id=str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4)),
            password_hash=password_hash,
            created_at=now,
            phone_verified=False,
            email_verified=False,
            status="pending",
            level=LOA1,
            **values,
        )
    except Conflict:
        retried = _pending_with(provider, str(values["id_number"]), phone)
        if retried is None:
            started = flows.start(provider, "register", None, data)
            _tell_holders(provider, str(values["id_number"]), phone, lang)
            return started
        started = flows.start(provider, "register", retried.id, {**data, "password_hash": password_hash})
        otp.send_code(
            provider,
            citizen_id=retried.id,
            purpose="register",
            destination=phone,
            flow_id=started.flow_id,
            client_ip=client_ip,
            lang=lang,
            reserved=True,
            deliver=deliver,
        )
        return started
    started = flows.start(provider, "register", citizen.id, data)
    otp.send_code(
        provider,
        citizen_id=citizen.id,
        purpose="register",
        destination=phone,
        flow_id=started.flow_id,
        client_ip=client_ip,
        lang=lang,
        reserved=True,
        deliver=deliver,
    )
    return started


def _pending_with(provider: Provider, id_number: str, phone: str) -> CitizenRecord | None:
    """The one pending account holding both this ID number and this phone, if that is the conflict."""
    holders = provider.store.citizens.find_holders(id_number, phone)
    if len(holders) == 1 and holders[0].status == "pending" and holders[0].phone == phone:
        return holders[0] if holders[0].id_number == id_number else None
    return None


def _tell_holders(provider: Provider, id_number: str, phone: str, lang: str) -> None:
    for holder in provider.store.citizens.find_holders(id_number, phone):
        notify.send(
            provider,
            channel="sms",
            to=holder.phone,
            purpose="notice",
            text=t(lang, "sms.notice.duplicate_registration"),
        )


def verify(provider: Provider, flow_id: str, secret: str | None, code: str) -> tuple[CitizenRecord, str | None]:
    """The code proves the phone: the account becomes active at LoA1."""
    flow = flows.load(provider, flow_id, secret, "register")
    if flow.citizen_id is None:
        raise otp.CodeRefused("wrong")  # a registration that collided: no code can ever be right
    otp.verify_code(provider, citizen_id=flow.citizen_id, purpose="register", flow_id=flow.id, code=code)
    now = provider.clock.now()
    provider.store.citizens.activate(flow.citizen_id, now, password_hash=flow.data.get("password_hash"))
    provider.store.flows.complete(flow.id, now)
    citizen = provider.store.citizens.get(flow.citizen_id)
    assert citizen is not None
    audit.record(
        provider,
        action="citizen.registered",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"level": citizen.level},
    )
    return citizen, flow.data.get("return_to")


def resend(provider: Provider, flow_id: str, secret: str | None, *, client_ip: str, lang: str) -> None:
    flow = flows.load(provider, flow_id, secret, "register")
    citizen = provider.store.citizens.get(flow.citizen_id) if flow.citizen_id else None
    if citizen is None or citizen.status != "pending":
        limits.reserve_send(provider, flow.data["phone"], client_ip)  # same limits, same answer
        return
    otp.send_code(
        provider,
        citizen_id=citizen.id,
        purpose="register",
        destination=citizen.phone,
        flow_id=flow.id,
        client_ip=client_ip,
        lang=lang,
    )
