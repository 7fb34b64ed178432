"""Citizens register themselves: declared identity checked offline, phone proven by an SMS code.

The account is created *pending* and becomes *active* (LoA1) when the code is entered.
Registering an ID number or phone that already exists answers exactly like a new one (same
steps, an argon2 hash included, so similar time); the holder is told by SMS instead.

Registering again with the same ID number *and* phone while that account is still pending is the
citizen retrying a registration whose answer was lost (a crash, a dropped connection): a fresh
code goes to that phone and the new flow carries on. The password typed this time is kept with
the flow and becomes the account's when that flow's code is entered, so only whoever holds the
phone decides it. A duplicate of an *active* account still only tells its holder.

The ID number stays *declared*: only the counter verifies it (LoA2). With a population registry
configured, the declaration is checked first: a match marks it registry-checked (still not
verified), a mismatch refuses the registration, and an unknown or an outage leaves it declared.
The registry's answer depends only on the submitted data, never on our accounts, so it tells a
stranger nothing about who is registered here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from idp.core import audit, flows, limits, notify, otp, policy, registry, sessions
from idp.core.accounts import CitizenDeclaration, validate
from idp.core.levels import LOA1
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider
from idp.errors import Refusal
from idp.i18n import t
from idp.store.records import CitizenRecord, Conflict

log = logging.getLogger(__name__)


class RegistryMismatch(Refusal):
    """The population registry holds the declared number with another name, birth date or sex."""

    status_code = 422
    error = "registry_mismatch"
    message_key = "register.registry_mismatch"

    @property
    def description(self) -> str:
        return "the population registry does not confirm this ID number with this name, birth date and sex"


@dataclass(frozen=True)
class Registration:
    """A started registration and what the registry said (`registry.ANSWERS`; the page says it)."""

    flow: flows.StartedFlow
    registry: str


def check_registry(provider: Provider, values: dict[str, object], client_ip: str) -> str:
    """Ask the registry about the declaration; a mismatch refuses (audited without the data).

    Each address may put REGISTRY_CHECKS_PER_IP_PER_DAY questions a day: the registry answers
    whether a number goes with a name, birth date and sex, which nobody may ask in bulk. Past the
    budget the registration is refused, not waved through unchecked (that would undo the check)."""
    if isinstance(provider.registry, registry.NoRegistry):
        return registry.OFF
    now = provider.clock.now()
    if (
        provider.store.counters.hit(f"registry-ip-day:{client_ip}", policy.DAY, now)
        > policy.REGISTRY_CHECKS_PER_IP_PER_DAY
    ):
        raise limits.SendRefused("ip_cap", policy.DAY)
    answer = provider.registry.check(
        number=str(values["id_number"]),
        full_name=str(values["full_name"]),
        birth_date=str(values["birth_date"]),
        sex=str(values["sex"]),
    )
    if answer not in registry.ANSWERS:
        answer = registry.UNAVAILABLE  # a registry outside the protocol is no registry
    if answer == registry.MISMATCH:
        audit.record(provider, action="citizen.registration_refused", outcome="denied", detail={"registry": answer})
        raise RegistryMismatch()
    return answer


def register(
    provider: Provider,
    declaration: CitizenDeclaration,
    password: str,
    *,
    client_ip: str,
    lang: str,
    return_to: str | None = None,
) -> Registration:
    values = validate(provider, declaration)
    check_new_password(
        password, id_number=str(values["id_number"]), phone=str(values["phone"]), full_name=str(values["full_name"])
    )
    phone = str(values["phone"])
    # Asked before a send is reserved: a refused declaration spends no SMS budget or cooldown, so
    # the citizen can correct a typo at once.
    answer = check_registry(provider, values, client_ip)
    deliver = limits.reserve_send(provider, phone, client_ip)
    password_hash = provider.passwords.hash(password)
    now = provider.clock.now()
    provider.store.citizens.remove_stale_pending(str(values["id_number"]), phone, now - policy.PENDING_ACCOUNT_TTL)
    data = {"return_to": return_to, "phone": phone, "registry": answer}
    try:
        citizen = provider.store.citizens.add(
            id=str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4)),
            password_hash=password_hash,
            created_at=now,
            phone_verified=False,
            email_verified=False,
            status="pending",
            level=LOA1,
            registry_checked_at=now if answer == registry.MATCH else None,
            **values,
        )
    except Conflict:
        retried = _pending_with(provider, str(values["id_number"]), phone)
        if retried is None:
            started = flows.start(provider, "register", None, data)
            _tell_holders(provider, str(values["id_number"]), phone, lang)
            return Registration(started, answer)
        account_id, flow_data = retried.id, {**data, "password_hash": password_hash}
    else:
        account_id, flow_data = citizen.id, data
    started = flows.start(provider, "register", account_id, flow_data)
    otp.send_code(
        provider,
        citizen_id=account_id,
        purpose="register",
        destination=phone,
        flow_id=started.flow_id,
        client_ip=client_ip,
        lang=lang,
        reserved=True,
        deliver=deliver,
    )
    return Registration(started, answer)


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
        raise otp.refusal_without_account(provider, flow.id)  # a registration that collided: no code is right
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
        # The number's standing, in its own words: declared, or declared and registry-checked.
        detail={
            "level": citizen.level,
            "id_number": "registry_checked" if citizen.registry_checked_at is not None else "declared",
            "registry": flow.data.get("registry", registry.OFF),
        },
    )
    return citizen, flow.data.get("return_to")


# What a registration's login used, in RFC 8176 words: `sms` (the code proved the phone, something
# the citizen has) and `pwd` (the password was typed in this flow). Not `mfa`: the password was set
# here, not proven against an earlier enrolment, so this is no two-factor login; the account is
# LoA1 whatever the amr says (`interactions.achieved_level`).
REGISTRATION_AMR = ["pwd", "sms"]


def log_in(provider: Provider, citizen: CitizenRecord, old_cookie: str | None) -> sessions.NewSession:
    """The phone proof and the password just set are a LoA1 login: the citizen does not type again
    what they typed a minute ago. A fresh session id (never the old one: no fixation)."""
    sessions.end(provider, old_cookie)
    new = sessions.start(provider, citizen.id, amr=REGISTRATION_AMR, acr=LOA1)
    audit.record(
        provider,
        action="citizen.login",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"amr": REGISTRATION_AMR, "acr": LOA1, "via": "registration"},
    )
    return new


def finished(provider: Provider, flow_id: str, secret: str | None) -> tuple[CitizenRecord, str | None] | None:
    """A finished registration's page, reloaded in the browser that finished it: who, and where on."""
    flow = flows.load(provider, flow_id, secret, "register", finished_ok=True)
    if flow.completed_at is None or flow.citizen_id is None:
        return None
    citizen = provider.store.citizens.get(flow.citizen_id)
    return (citizen, flow.data.get("return_to")) if citizen is not None else None


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
