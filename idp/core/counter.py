"""The post-office counter: a clerk registers a citizen in person, or recovers one who lost both
phone and authenticator; a different supervisor approves at the desk.

Both are the desk's maker–checker record (`idp.core.verification`, kinds `registration` and
`recovery`): the clerk's record says what it will change, and the supervisor's approval applies it in
the transaction that decides the record (`verification.approve`), so a step that fails half-way
leaves nothing behind. Nobody at the counter sees or sets a password: the citizen gets an SMS with a
link and a 6-digit code and chooses their own (`finish_password`), which also proves the phone. Until
then the account has a password nobody knows (a hash of random bytes, so a login try takes the time
a real one does).

A recovery removes what the lost phone could still do: the authenticator app, the recovery codes,
the password, every session and grant (with back-channel logout to each portal), then binds the new
phone; the old phone and the email are told.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from idp.core import audit, logout, notify, otp, policy, verification
from idp.core.accounts import CitizenDeclaration, validate
from idp.core.atomic import all_or_nothing
from idp.core.identity import normalize_phone
from idp.core.levels import LOA1
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider
from idp.core.staff import Console, require
from idp.crypto.opaque import digest, new_token
from idp.errors import DeskRefusal, Refusal, ValidationError
from idp.i18n import t
from idp.store.flows import FlowRecord
from idp.store.records import CitizenRecord, Conflict
from idp.store.verification import VerificationRecord

SET_PASSWORD = "counter_password"  # the flow a counter's SMS link opens

_REFUSED = {
    "number_taken": "another account holds this ID number: if the citizen proves it is theirs, record a dispute",
    "phone_taken": "another account holds this phone number",
    "inactive": "the account is not active",
}


class CounterRefused(DeskRefusal):
    """A counter step the desk will not take; `reason` says which (staff may know who holds what)."""

    PREFIX = "counter"
    REASONS = _REFUSED


@dataclass(frozen=True)
class CounterRecord:
    citizen: CitizenRecord
    record: VerificationRecord


def unusable_password(provider: Provider) -> str:
    """A real argon2 hash of random bytes nobody ever sees: the account cannot be logged into, and
    trying takes as long as on any account."""
    return provider.passwords.hash(new_token(provider.rng, 32))


def _taken(exc: Conflict) -> CounterRefused:
    return CounterRefused("number_taken" if exc.field == "citizen_id" else "phone_taken")


def _denied(provider: Provider, console: Console, action: str, exc: Exception, ip: str | None, **detail: str) -> None:
    audit.record(
        provider,
        action=action,
        outcome="denied",
        actor=console.actor,
        ip=ip,
        detail={"result": getattr(exc, "error", type(exc).__name__), **detail},
    )


# -- registration at the counter ----------------------------------------------------------------


def register_citizen(
    provider: Provider,
    console: Console,
    declaration: CitizenDeclaration,
    *,
    document_type: str,
    document_number: str,
    data_matches: bool,
    note: str = "",
    ip: str | None = None,
    lang: str = "vi",
) -> CounterRecord:
    """The clerk types the card (number, name, birth date, sex) and the citizen's phone: an active
    LoA1 account with no known password, its desk record (waiting for a supervisor to verify it to
    LoA2) and the SMS link, all or nothing."""
    require(console.staff, "counter.register")
    values = validate(provider, declaration)
    if not data_matches:
        raise ValidationError("data_matches", "required")
    password_hash = unusable_password(provider)
    now = provider.clock.now()
    try:
        with all_or_nothing(provider):
            try:
                citizen = provider.store.citizens.add(
                    id=str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4)),
                    password_hash=password_hash,
                    created_at=now,
                    phone_verified=False,
                    email_verified=False,
                    status="active",
                    level=LOA1,
                    **values,
                )
            except Conflict as exc:
                raise _taken(exc) from None
            record = verification.add_record(
                provider,
                console,
                citizen,
                kind="registration",
                document_type=document_type,
                document_number=document_number,
                full_name=declaration.full_name,
                birth_date=declaration.birth_date,
                sex=declaration.sex,
                data_matches=True,
                note=note,
                ip=ip,
            )
            send_password_link(provider, citizen.id, citizen.phone, reason="registration", lang=lang)
            audit.record(
                provider,
                action="counter.registration",
                outcome="success",
                actor=console.actor,
                subject=f"citizen:{citizen.id}",
                ip=ip,
                detail={"request": record.id, "document_type": document_type},
            )
    except (Refusal, ValidationError) as exc:
        _denied(provider, console, "counter.registration", exc, ip)
        raise
    return CounterRecord(citizen, record)


def registration_approved(
    provider: Provider, console: Console, record: VerificationRecord, why: str | None, ip: str | None
) -> Callable[[], None]:
    """The desk raised the account to LoA2; the citizen is told."""
    citizen = provider.store.citizens.get(record.citizen_pk)
    assert citizen is not None

    def apply() -> None:
        notify.send(
            provider, channel="sms", to=citizen.phone, purpose="notice", text=t("vi", "sms.notice.counter_verified")
        )

    return apply


# -- recovery at the counter --------------------------------------------------------------------


def record_recovery(
    provider: Provider,
    console: Console,
    citizen_pk: str,
    *,
    new_phone: str,
    document_type: str,
    document_number: str,
    full_name: str,
    birth_date: str,
    sex: str,
    data_matches: bool,
    note: str = "",
    ip: str | None = None,
) -> VerificationRecord:
    """The clerk checks the card of a citizen who lost phone and authenticator and types the phone
    to bind (the same number on a new SIM is fine); nothing changes until a supervisor approves."""
    require(console.staff, "counter.recover")
    citizen = verification.get_citizen(provider, citizen_pk)
    if citizen.status != "active":
        raise CounterRefused("inactive")
    phone = normalize_phone(new_phone)
    holders = [h for h in provider.store.citizens.find_holders("", phone) if h.id != citizen.id]
    if holders:
        raise CounterRefused("phone_taken")
    return verification.add_record(
        provider,
        console,
        citizen,
        kind="recovery",
        document_type=document_type,
        document_number=document_number,
        full_name=full_name,
        birth_date=birth_date,
        sex=sex,
        data_matches=data_matches,
        note=note,
        details={"phone": phone},
        ip=ip,
    )


def recovery_approved(
    provider: Provider, console: Console, record: VerificationRecord, why: str | None, ip: str | None
) -> Callable[[], None]:
    citizen = provider.store.citizens.get(record.citizen_pk)
    assert citizen is not None and record.details is not None
    new_phone = str(record.details["phone"])
    password_hash = unusable_password(provider)

    def apply() -> None:
        now = provider.clock.now()
        provider.store.citizen_directory.remove_second_factors(citizen.id)
        provider.store.citizens.set_password_hash(citizen.id, password_hash, now)
        provider.store.failures.clear(citizen.id, "password", now, unlock=True)
        provider.store.failures.clear(citizen.id, "code", now, unlock=True)
        try:
            provider.store.citizens.set_phone(citizen.id, new_phone, now, verified=False)
        except Conflict as exc:
            raise _taken(exc) from None
        logout.end_account(provider, citizen.id)
        send_password_link(provider, citizen.id, new_phone, reason="recovery", lang="vi")
        # The old phone (it may be in a thief's hands: it learns nothing it could use) and the email.
        notify.tell_every_channel(
            provider,
            citizen,
            sms=t("vi", "sms.notice.counter_recovered"),
            email=t("vi", "email.notice.counter_recovered"),
        )
        audit.record(
            provider,
            action="counter.recovered",
            outcome="success",
            actor=console.actor,
            subject=f"citizen:{citizen.id}",
            ip=ip,
            detail={
                "request": record.id,
                "recorded_by": record.recorded_by,
                "phone_changed": new_phone != citizen.phone,
                "removed": ["totp", "recovery_codes", "password", "sessions", "grants"],
            },
        )

    return apply


# -- the citizen sets their own password --------------------------------------------------------


def send_password_link(provider: Provider, citizen_pk: str, phone: str, *, reason: str, lang: str) -> str:
    """A set-password flow for the account and its first code, by SMS with the link; the flow id."""
    now = provider.clock.now()
    flow_id = new_token(provider.rng, 16)
    provider.store.flows.create(
        id=flow_id,
        kind=SET_PASSWORD,
        binding_digest=digest(new_token(provider.rng, 32)),  # bound to no browser: the link and code are
        citizen_id=citizen_pk,
        data={"phone": phone, "reason": reason},
        created_at=now,
        expires_at=now + policy.COUNTER_LINK_TTL,
    )
    _send_code(provider, citizen_pk, phone, flow_id, client_ip="counter", lang=lang, reserved=True)
    return flow_id


def _send_code(
    provider: Provider, citizen_pk: str, phone: str, flow_id: str, *, client_ip: str, lang: str, reserved: bool
) -> None:
    otp.send_code(
        provider,
        citizen_id=citizen_pk,
        purpose="counter",
        destination=phone,
        flow_id=flow_id,
        client_ip=client_ip,
        lang=lang,
        # Sent by staff, audited: not an anonymous request, so it spends no citizen's or address's budget.
        reserved=reserved,
        owner=True,
        params={"link": f"{provider.issuer}/counter/{flow_id}"},
    )


def open_flow(provider: Provider, flow_id: str) -> FlowRecord:
    """The live set-password flow behind a link (its id is 128 random bits, sent only by SMS)."""
    from idp.core.flows import FlowGone

    record = provider.store.flows.get(flow_id) if 0 < len(flow_id) <= 64 else None
    if record is None or record.kind != SET_PASSWORD or record.citizen_id is None:
        raise FlowGone()
    if record.completed_at is not None or record.expires_at <= provider.clock.now():
        raise FlowGone()
    return record


def resend(provider: Provider, flow_id: str, *, client_ip: str, lang: str) -> None:
    """A fresh code for the link (the first one lives 5 minutes), under the phone's daily limits."""
    flow = open_flow(provider, flow_id)
    assert flow.citizen_id is not None
    _send_code(
        provider, flow.citizen_id, str(flow.data["phone"]), flow.id, client_ip=client_ip, lang=lang, reserved=False
    )


def finish_password(provider: Provider, flow_id: str, code: str, password: str, *, lang: str = "vi") -> CitizenRecord:
    """The code from the SMS proves the phone; the password is the citizen's own from now on."""
    flow = open_flow(provider, flow_id)
    citizen = provider.store.citizens.get(flow.citizen_id or "")
    if citizen is None or citizen.status != "active" or citizen.phone != flow.data.get("phone"):
        raise otp.CodeRefused("wrong")  # frozen, or the phone changed since: the link is void
    check_new_password(password, id_number=citizen.id_number, phone=citizen.phone, full_name=citizen.full_name)
    otp.verify_code(provider, citizen_id=citizen.id, purpose="counter", flow_id=flow.id, code=code)
    now = provider.clock.now()
    provider.store.citizens.set_own_password(citizen.id, provider.passwords.hash(password), now)
    provider.store.failures.clear(citizen.id, "password", now, unlock=True)
    provider.store.flows.complete(flow.id, now)
    audit.record(
        provider,
        action="counter.password_set",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        detail={"reason": str(flow.data.get("reason", ""))},
    )
    updated = provider.store.citizens.get(citizen.id)
    assert updated is not None
    return updated
