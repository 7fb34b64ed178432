"""Disputes at the counter: a citizen proves, card in hand, that a number another account holds is
theirs (issue 14: anyone can declare a number nobody registered yet).

A clerk records the dispute against the *holder's* account (the desk's record of kind `dispute`, so a
holder has at most one open dispute and the clerk never decides it) with why, what the card says, and
who the owner is: an existing account of theirs, or a new one (phone, email). A different supervisor
approves at the desk, and in that one transaction the holder is frozen (status `frozen`, sessions and
grants ended, back-channel logout to every portal that held a grant, told by SMS) and stops holding
the number, which can then be released only for the owner: the owner's account is re-bound to it, or
created at the counter, verified (LoA2) either way, and the holder's number is replaced by a
placeholder that is never a valid citizen ID number. Both steps are audited with who recorded,
who approved, and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from idp.core import audit, logout, notify, verification
from idp.core.accounts import today
from idp.core.counter import CounterRefused, send_password_link, unusable_password
from idp.core.identity import check_id_number, check_sex, normalize_email, normalize_phone, parse_birth_date
from idp.core.levels import LOA2
from idp.core.provider import Provider
from idp.core.staff import Console, require
from idp.crypto.codes import numeric_code
from idp.errors import DeskRefusal, Refusal, ValidationError
from idp.i18n import t
from idp.store.records import CitizenRecord, Conflict
from idp.store.verification import VerificationRecord

# A frozen holder's number column gets "D" and 11 digits: unique like any number, and never one a
# citizen could declare (a citizen ID number is 12 digits), so the owner alone holds the real one.
PLACEHOLDER_PREFIX = "D"

_REFUSED = {
    "no_holder": "no account holds this number: register the citizen at the counter instead",
    "holder_pending": "the account holding this number never finished its registration and lapses within a day",
    "same_account": "the owner's account is the one holding the number",
    "owner_inactive": "the owner's account is not active",
    "holder_changed": "the holder's account changed since the dispute was recorded; record it again",
}


class DisputeRefused(DeskRefusal):
    """A dispute the desk will not record or apply; `reason` says why."""

    PREFIX = "dispute"
    REASONS = _REFUSED


def _holder_of(provider: Provider, number: str) -> CitizenRecord:
    holders = [c for c in provider.store.citizens.find_holders(number, "") if c.id_number == number]
    if not holders:
        raise DisputeRefused("no_holder")
    if holders[0].status == "pending":
        raise DisputeRefused("holder_pending")
    return holders[0]


def record_dispute(
    provider: Provider,
    console: Console,
    *,
    id_number: str,
    document_type: str,
    document_number: str,
    full_name: str,
    birth_date: str,
    sex: str,
    data_matches: bool,
    note: str,
    owner_pk: str = "",
    phone: str = "",
    email: str = "",
    ip: str | None = None,
) -> VerificationRecord:
    """The clerk's record: the card proving `id_number`, why (`note`, required), and the owner (an
    existing account `owner_pk`, or the `phone` and `email` of the account to create)."""
    require(console.staff, "disputes.record")
    if not note.strip():
        raise ValidationError("note", "required")
    for name, value in (("citizen_id", id_number), ("birth_date", birth_date), ("sex", sex)):
        if not value.strip():
            raise ValidationError(name, "required")
    number = check_id_number(id_number, sex=check_sex(sex), birth_date=parse_birth_date(birth_date, today(provider)))
    holder = _holder_of(provider, number)
    details: dict[str, object] = {"id_number": number, "owner": None}
    if owner_pk:
        owner = verification.get_citizen(provider, owner_pk)
        if owner.id == holder.id:
            raise DisputeRefused("same_account")
        if owner.status != "active":
            raise DisputeRefused("owner_inactive")
        details["owner"] = owner.id
    else:
        if not phone.strip():
            raise ValidationError("phone", "required")
        details["phone"] = normalize_phone(phone)
        details["email"] = normalize_email(email)
        if provider.store.citizens.find_holders("", str(details["phone"])):
            raise CounterRefused("phone_taken")
    try:
        record = verification.add_record(
            provider,
            console,
            holder,
            kind="dispute",
            id_number=number,
            document_type=document_type,
            document_number=document_number,
            full_name=full_name,
            birth_date=birth_date,
            sex=sex,
            data_matches=data_matches,
            note=note,
            details=details,
            ip=ip,
        )
    except Refusal as exc:
        audit.record(
            provider,
            action="dispute.recorded",
            outcome="denied",
            actor=console.actor,
            subject=f"citizen:{holder.id}",
            ip=ip,
            detail={"result": exc.error},
        )
        raise
    audit.record(
        provider,
        action="dispute.recorded",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{holder.id}",
        ip=ip,
        detail={"request": record.id, "why": record.note, "owner": details["owner"] or "new"},
    )
    return record


def dispute_approved(
    provider: Provider, console: Console, record: VerificationRecord, why: str | None, ip: str | None
) -> Callable[[], None]:
    """Freeze the holder, then bind the number to the owner: run inside the desk's decision."""
    details = record.details or {}
    number = str(details["id_number"])
    card = record.recorded_identity or {}
    holder = provider.store.citizens.get(record.citizen_pk)
    assert holder is not None
    owner_pk = details.get("owner")
    placeholder = PLACEHOLDER_PREFIX + numeric_code(provider.rng, 11)
    password_hash = None if owner_pk else unusable_password(provider)
    clerk = provider.store.staff.get(record.recorded_by)
    who = {
        "request": record.id,
        "recorded_by": f"staff:{clerk.username}" if clerk else record.recorded_by,
        "approved_by": console.actor,
        "why": record.note,
        "reason": why or "",
    }

    def apply() -> None:
        now = provider.clock.now()
        if not provider.store.citizens.freeze(holder.id, held_number=number, placeholder=placeholder, now=now):
            raise DisputeRefused("holder_changed")
        logout.end_account(provider, holder.id)
        notify.send(
            provider, channel="sms", to=holder.phone, purpose="notice", text=t("vi", "sms.notice.dispute_frozen")
        )
        audit.record(
            provider,
            action="dispute.holder_frozen",
            outcome="success",
            actor=console.actor,
            subject=f"citizen:{holder.id}",
            ip=ip,
            detail=who,
        )
        owner = _bind_owner(provider, str(owner_pk) if owner_pk else None, number, card, details, password_hash, now)
        audit.record(
            provider,
            action="dispute.owner_bound",
            outcome="success",
            actor=console.actor,
            subject=f"citizen:{owner.id}",
            ip=ip,
            detail={**who, "account": "existing" if owner_pk else "new", "holder": f"citizen:{holder.id}"},
        )

    return apply


def _bind_owner(
    provider: Provider,
    owner_pk: str | None,
    number: str,
    card: dict[str, str],
    details: dict[str, object],
    password_hash: str | None,
    now: int,
) -> CitizenRecord:
    identity = {"full_name": card["full_name"], "birth_date": card["birth_date"], "sex": card["sex"]}
    if owner_pk is not None:
        try:
            bound = provider.store.citizens.bind_identity(owner_pk, id_number=number, level=LOA2, now=now, **identity)
        except Conflict:
            raise DisputeRefused("holder_changed") from None
        if not bound:
            raise DisputeRefused("owner_inactive")
        owner = provider.store.citizens.get(owner_pk)
        assert owner is not None
        notify.send(provider, channel="sms", to=owner.phone, purpose="notice", text=t("vi", "sms.notice.dispute_bound"))
        return owner
    assert password_hash is not None
    try:
        owner = provider.store.citizens.add(
            id=str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4)),
            password_hash=password_hash,
            created_at=now,
            id_number=number,
            phone=str(details["phone"]),
            email=details.get("email"),
            phone_verified=False,
            email_verified=False,
            status="active",
            level=LOA2,
            **identity,
        )
    except Conflict as exc:
        raise CounterRefused("phone_taken" if exc.field == "phone" else "number_taken") from None
    send_password_link(provider, owner.id, owner.phone, reason="dispute", lang="vi")
    return owner
