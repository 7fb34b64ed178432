"""The verification desk (maker–checker), and what staff may do to a citizen's account.

A clerk records an in-person check of a citizen's papers; a *different* staff member holding
`supervisor` approves (the account reaches LoA2) or rejects it (with a reason). The record
carries a digest of the identity fields the clerk saw; if any of them changes before the
decision, approval is refused and the record is voided (the store checks the fields again in
the same transaction that raises the level, so no change can slip in between).

The desk questions what it is given (issue 14): a document number must fit its type (a CCCD's is
the citizen ID number itself); the clerk types the name, birth date and sex read on the document,
and every difference from the account is shown to the supervisor, who approves such a record only
with a written reason; a citizen has at most one open check; a record older than
`IDP_VERIFICATION_MAX_AGE` expires and cannot be approved.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from idp.core import audit, factors, logout, notify
from idp.core.accounts import today
from idp.core.atomic import all_or_nothing
from idp.core.identity import check_sex, normalize_name, normalize_phone, parse_birth_date
from idp.core.levels import LOA2
from idp.core.provider import Provider
from idp.core.staff import Console, require
from idp.errors import DeskRefusal, IdpError, Refusal, ValidationError
from idp.store.audit import AuditRow
from idp.store.directories import ConnectedPortal, SessionSummary
from idp.store.records import CitizenRecord, Conflict
from idp.store.verification import DOCUMENT_FIELDS, IDENTITY_FIELDS, VerificationRecord, identity_of

# cccd: the chip ID card (căn cước), whose number is the 12-digit citizen ID number itself;
# cmnd: the old ID card (chứng minh nhân dân), 9 digits, or 12 when it already carried the ID number;
# passport: a Vietnamese passport, one letter and 7 digits (C1234567, as printed since 2011).
DOCUMENT_TYPES = ("cccd", "cmnd", "passport")
_CMND_OLD = re.compile(r"^[0-9]{9}$")
_PASSPORT = re.compile(r"^[A-Z][0-9]{7}$")
NOTE_MAX = 1000
REASON_MAX = 500
PAGE_SIZE = 20


class NotFound(Refusal):
    """No such citizen, record or client."""

    status_code = 404
    error = "not_found"

    @property
    def description(self) -> str:
        return "no such record"


_DECISION_REFUSED = {
    "own": "you cannot decide on a check you recorded yourself",
    "stale": "the account's data changed after the check was recorded; the record is void",
    "gone": "the record was already decided",
    "expired": "the record is older than the desk allows and has expired; the check must be recorded again",
    "differences": "the document differs from the account; approve only with a written reason for each difference",
}


class DecisionRefused(DeskRefusal):
    """`reason` is `own` (self-approval), `stale` (the account changed; the record is void), `gone`
    (already decided, possibly by a racing supervisor), `expired` (too old to approve) or
    `differences` (the document differs from the account and no reason was written)."""

    PREFIX = "decision"
    REASONS = _DECISION_REFUSED


_CHECK_REFUSED = {
    "cccd_number": "for a CCCD the document number must equal the citizen ID number",
    "cmnd_number": "a CMND number is 9 digits, or 12 digits equal to the citizen ID number",
    "passport_number": "a passport number is one capital letter and 7 digits",
    "open_check": "this citizen already has an open check waiting for a supervisor; decide it first",
}


class CheckRefused(DeskRefusal):
    """A clerk's record the desk will not take: the document number does not fit its type, or the
    citizen already has an open check (`reason` says which)."""

    status_code = 422
    PREFIX = "check"
    REASONS = _CHECK_REFUSED

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        if reason == "open_check":
            self.status_code = 409


@dataclass(frozen=True)
class Difference:
    """One field where what the clerk read on the document is not what the account says."""

    field: str
    recorded: str
    account: str


def _same(field: str, recorded: str, account: str) -> bool:
    if field == "full_name":  # cards print names in capitals: case aside, every letter and mark counts
        return unicodedata.normalize("NFC", recorded).casefold() == unicodedata.normalize("NFC", account).casefold()
    return recorded == account


def differences(record: VerificationRecord) -> list[Difference]:
    """Every field the document and the account disagree on (none for records made before the
    clerk typed what the document says)."""
    if record.recorded_identity is None or record.kind == "dispute":
        return []  # a dispute's card is expected to differ from the holder's account: it is not theirs
    found = []
    for name in DOCUMENT_FIELDS:
        recorded, account = record.recorded_identity.get(name, ""), record.identity.get(name, "")
        if not _same(name, recorded, account):
            found.append(Difference(name, recorded, account))
    return found


def expires_at(provider: Provider, record: VerificationRecord) -> int:
    return record.recorded_at + provider.settings.verification_max_age


def check_document_number(document_type: str, number: str, id_number: str) -> None:
    if document_type == "cccd" and number != id_number:
        raise CheckRefused("cccd_number")
    if document_type == "cmnd" and not (_CMND_OLD.match(number) or number == id_number):
        raise CheckRefused("cmnd_number")
    if document_type == "passport" and not _PASSPORT.match(number):
        raise CheckRefused("passport_number")


def identity_digest(identity: dict[str, str]) -> str:
    body = json.dumps(
        {k: identity[k] for k in IDENTITY_FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def fold(text: str) -> str:
    """Lower case without diacritics ("Nguyễn Văn Đức" → "nguyen van duc"), for name search."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


# -- citizens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    citizens: list[CitizenRecord]
    total: int
    page: int
    pages: int


def search_citizens(provider: Provider, console: Console, query: str, page: int = 1) -> SearchResult:
    """By 12-digit ID number, by phone, or by name (diacritics-insensitive), paged."""
    require(console.staff, "citizens.read")
    query = " ".join(query.split())[:100]
    page = max(page, 1)
    offset = (page - 1) * PAGE_SIZE
    if not query:
        return SearchResult([], 0, 1, 0)
    directory = provider.store.citizen_directory
    if query.isascii() and query.isdigit() and len(query) == 12:
        found, total = directory.search(id_number=query, limit=PAGE_SIZE, offset=offset)
    else:
        phone = None
        if sum(c.isdigit() for c in query) >= 9 and not any(c.isalpha() for c in query):
            try:
                phone = normalize_phone(query)
            except ValidationError:
                phone = None
        if phone:
            found, total = directory.search(phone=phone, limit=PAGE_SIZE, offset=offset)
        else:
            found, total = directory.search(folded_name=fold(query), fold=fold, limit=PAGE_SIZE, offset=offset)
    audit.record(provider, action="citizen.search", outcome="success", actor=console.actor, detail={"results": total})
    return SearchResult(found, total, page, (total + PAGE_SIZE - 1) // PAGE_SIZE)


@dataclass(frozen=True)
class CitizenDetail:
    citizen: CitizenRecord
    has_totp: bool
    recovery_codes_left: int
    sessions: list[SessionSummary]
    portals: list[ConnectedPortal]
    verifications: list[VerificationRecord]
    activity: list[AuditRow]


def citizen_detail(provider: Provider, console: Console, citizen_pk: str) -> CitizenDetail:
    require(console.staff, "citizens.read")
    citizen = get_citizen(provider, citizen_pk)
    now = provider.clock.now()
    activity = provider.store.audit.search(audit.AuditFilter(subject=f"citizen:{citizen.id}"), limit=20)
    audit.record(
        provider, action="citizen.view", outcome="success", actor=console.actor, subject=f"citizen:{citizen.id}"
    )
    return CitizenDetail(
        citizen=citizen,
        has_totp=factors.has_totp(provider, citizen.id),
        recovery_codes_left=provider.store.recovery_codes.remaining(citizen.id),
        sessions=provider.store.citizen_directory.live_sessions(citizen.id, now, provider.settings.session_idle_ttl),
        portals=provider.store.citizen_directory.connected_portals(citizen.id),
        verifications=provider.store.verifications.list(citizen_pk=citizen.id, limit=20),
        activity=activity,
    )


def get_citizen(provider: Provider, citizen_pk: str) -> CitizenRecord:
    """The account, or `NotFound` (a key longer than any account id is not looked up)."""
    citizen = provider.store.citizens.get(citizen_pk) if len(citizen_pk) <= 36 else None
    if citizen is None:
        raise NotFound()
    return citizen


def _reason(reason: str) -> str:
    text = " ".join(reason.split())[:REASON_MAX]
    if not text:
        raise ValidationError("reason", "required")
    return text


def lock(provider: Provider, console: Console, citizen_pk: str, reason: str, *, ip: str | None = None) -> bool:
    require(console.staff, "citizens.lock")
    citizen = get_citizen(provider, citizen_pk)
    why = _reason(reason)
    now = provider.clock.now()
    done = provider.store.citizen_directory.set_status(citizen.id, "active", "locked", now)
    if done:
        logout.end_account(provider, citizen.id)
    audit.record(
        provider,
        action="citizen.lock",
        outcome="success" if done else "failure",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
        detail={"reason": why},
    )
    return done


def unlock(provider: Provider, console: Console, citizen_pk: str, reason: str, *, ip: str | None = None) -> bool:
    require(console.staff, "citizens.lock")
    citizen = get_citizen(provider, citizen_pk)
    why = _reason(reason)
    now = provider.clock.now()
    done = provider.store.citizen_directory.set_status(citizen.id, "locked", "active", now)
    # Also lifts the lock from too many failed passwords or codes.
    provider.store.failures.clear(citizen.id, "password", now, unlock=True)
    provider.store.failures.clear(citizen.id, "code", now, unlock=True)
    audit.record(
        provider,
        action="citizen.unlock",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
        detail={"reason": why, "status_changed": done},
    )
    return True


def reset_authenticator(
    provider: Provider, console: Console, citizen_pk: str, reason: str, *, ip: str | None = None
) -> None:
    """The authenticator app, the recovery codes and the passkeys are removed; the citizen is told by SMS."""
    require(console.staff, "citizens.reset_authenticator")
    citizen = get_citizen(provider, citizen_pk)
    why = _reason(reason)
    now = provider.clock.now()
    passkeys_removed = provider.store.citizen_directory.remove_second_factors(citizen.id)
    provider.store.sessions.end_all_for(citizen.id, now)
    notify.send(
        provider,
        channel="sms",
        to=citizen.phone,
        purpose="notice",
        text="PostID: ung dung xac thuc, ma khoi phuc va khoa truy cap cua ban da duoc go bo theo yeu cau tai quay. "
        "Neu khong phai ban, hay goi tong dai ngay.",
    )
    audit.record(
        provider,
        action="citizen.reset_authenticator",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
        detail={"reason": why, "passkeys_removed": passkeys_removed},
    )


def end_sessions(provider: Provider, console: Console, citizen_pk: str, *, ip: str | None = None) -> None:
    require(console.staff, "citizens.end_sessions")
    citizen = get_citizen(provider, citizen_pk)
    now = provider.clock.now()
    provider.store.sessions.end_all_for(citizen.id, now)
    audit.record(
        provider,
        action="citizen.end_sessions",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
    )


# What a console or API caller names an action on a citizen, with the permission it needs (the
# routes' guard reads it; each function below checks it again).
CITIZEN_ACTIONS = {
    "lock": "citizens.lock",
    "unlock": "citizens.lock",
    "reset-authenticator": "citizens.reset_authenticator",
    "end-sessions": "citizens.end_sessions",
}


def act_on_citizen(
    provider: Provider, console: Console, citizen_pk: str, action: str, reason: str | None, *, ip: str | None = None
) -> None:
    if action == "end-sessions":
        end_sessions(provider, console, citizen_pk, ip=ip)
        return
    run = {"lock": lock, "unlock": unlock, "reset-authenticator": reset_authenticator}[action]
    run(provider, console, citizen_pk, reason or "", ip=ip)


# -- the desk ----------------------------------------------------------------------------------------


def record_check(
    provider: Provider,
    console: Console,
    citizen_pk: str,
    *,
    document_type: str,
    document_number: str,
    full_name: str,
    birth_date: str,
    sex: str,
    data_matches: bool,
    note: str = "",
    ip: str | None = None,
) -> VerificationRecord:
    """The clerk's record of an in-person check: the document, what it says (name, birth date,
    sex), and the account's identity fields as they are now."""
    require(console.staff, "verification.record")
    citizen = get_citizen(provider, citizen_pk)
    if citizen.status != "active":
        raise ValidationError("citizen", "inactive")
    return add_record(
        provider,
        console,
        citizen,
        kind="check",
        document_type=document_type,
        document_number=document_number,
        full_name=full_name,
        birth_date=birth_date,
        sex=sex,
        data_matches=data_matches,
        note=note,
        ip=ip,
    )


def read_document(
    provider: Provider,
    *,
    document_type: str,
    document_number: str,
    id_number: str,
    full_name: str,
    birth_date: str,
    sex: str,
) -> tuple[str, dict[str, str]]:
    """The document's number (normalised, checked against its type) and what it says, as the desk
    stores them; raises on anything missing or malformed."""
    if document_type not in DOCUMENT_TYPES:
        raise ValidationError("document_type", "choice")
    number = "".join(document_number.split()).upper()
    if not number or len(number) > 64 or not number.isalnum():
        raise ValidationError("document_number", "required")
    check_document_number(document_type, number, id_number)
    for name, value in (("full_name", full_name), ("birth_date", birth_date), ("sex", sex)):
        if not value.strip():
            raise ValidationError(name, "required")
    read = {
        "full_name": normalize_name(full_name),
        "birth_date": parse_birth_date(birth_date, today(provider)).isoformat(),
        "sex": check_sex(sex),
    }
    return number, read


def add_record(
    provider: Provider,
    console: Console,
    citizen: CitizenRecord,
    *,
    kind: str,
    document_type: str,
    document_number: str,
    full_name: str,
    birth_date: str,
    sex: str,
    data_matches: bool,
    note: str = "",
    details: dict[str, object] | None = None,
    id_number: str | None = None,
    ip: str | None = None,
) -> VerificationRecord:
    """A desk record of any kind for `citizen` (the caller checked the permission): the document
    fits its type and `id_number` (the account's by default; a dispute's is the disputed number),
    one open record per account, audited with what differs."""
    number, read = read_document(
        provider,
        document_type=document_type,
        document_number=document_number,
        id_number=id_number or citizen.id_number,
        full_name=full_name,
        birth_date=birth_date,
        sex=sex,
    )
    if not data_matches:
        raise ValidationError("data_matches", "required")
    identity = identity_of(citizen)
    now = provider.clock.now()
    # An expired record no longer holds the citizen's one open check.
    provider.store.verifications.expire(now - provider.settings.verification_max_age, now, citizen_pk=citizen.id)
    try:
        record = provider.store.verifications.add(
            id=str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4)),
            citizen_pk=citizen.id,
            document_type=document_type,
            document_number=number,
            data_matches=True,
            note=note.strip()[:NOTE_MAX],
            identity=identity,
            identity_digest=identity_digest(identity),
            recorded_by=console.staff.id,
            now=now,
            recorded_identity=read,
            kind=kind,
            details=details,
        )
    except Conflict:
        audit.record(
            provider,
            action="verification.record",
            outcome="denied",
            actor=console.actor,
            subject=f"citizen:{citizen.id}",
            ip=ip,
            detail={"result": "open_check", "kind": kind},
        )
        raise CheckRefused("open_check") from None
    audit.record(
        provider,
        action="verification.record",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
        detail={
            "request": record.id,
            "kind": kind,
            "document_type": document_type,
            "differences": [d.field for d in differences(record)],
        },
    )
    return record


def pending(provider: Provider, console: Console) -> list[VerificationRecord]:
    """Open records, once those past the desk's maximum age are marked expired."""
    require(console.staff, "verification.read")
    now = provider.clock.now()
    provider.store.verifications.expire(now - provider.settings.verification_max_age, now)
    return provider.store.verifications.list(status="pending")


def get_request(provider: Provider, console: Console, request_id: str) -> VerificationRecord:
    require(console.staff, "verification.read")
    record = provider.store.verifications.get(request_id) if len(request_id) <= 36 else None
    if record is None:
        raise NotFound()
    return record


def approve(
    provider: Provider, console: Console, request_id: str, reason: str = "", *, ip: str | None = None
) -> VerificationRecord:
    """`reason` is required when the document differs from the account: it says why the differences
    do not matter (a typo on the account, a name written without marks...) and goes to the audit."""
    require(console.staff, "verification.decide")
    record = get_request(provider, console, request_id)
    now = provider.clock.now()
    found = differences(record)
    why = " ".join(reason.split())[:REASON_MAX] or None
    citizen = provider.store.citizens.get(record.citizen_pk)
    deciding = record.status == "pending" and record.recorded_by != console.staff.id
    if deciding and found and why is None:
        outcome = "differences"
    elif citizen is not None and identity_digest(identity_of(citizen)) != record.identity_digest:
        provider.store.verifications.void(
            record.id, console.staff.id, now, "the account's data changed after the record"
        )
        outcome = "stale"
    else:
        outcome = _approve_and_apply(provider, console, record, why, ip=ip)
    detail: dict[str, object] = {"request": record.id, "kind": record.kind, "result": outcome}
    if found:
        detail["differences"] = [d.field for d in found]
    if why is not None:
        detail["reason"] = why
    audit.record(
        provider,
        action="verification.approve",
        outcome="success" if outcome == "approved" else "denied",
        actor=console.actor,
        subject=f"citizen:{record.citizen_pk}",
        ip=ip,
        detail=detail,
    )
    if outcome != "approved":
        raise DecisionRefused(outcome)
    return get_request(provider, console, record.id)


def _approve_and_apply(
    provider: Provider, console: Console, record: VerificationRecord, why: str | None, *, ip: str | None
) -> str:
    """The record's approval and what it applies (a counter registration's, a recovery's, a
    dispute's: `idp.core.counter`, `idp.core.disputes`) in one transaction: when applying fails
    (the new phone is taken meanwhile...), the record is still pending and nothing was written."""
    apply = _effect(provider, console, record, why, ip)
    now = provider.clock.now()
    try:
        with all_or_nothing(provider):
            outcome = provider.store.verifications.approve(
                record.id,
                console.staff.id,
                now,
                raise_to=None if record.kind == "dispute" else LOA2,
                recorded_after=now - provider.settings.verification_max_age,
                reason=why,
            )
            if outcome == "approved" and apply is not None:
                apply()
    except IdpError as exc:
        audit.record(
            provider,
            action="verification.approve",
            outcome="failure",
            actor=console.actor,
            subject=f"citizen:{record.citizen_pk}",
            ip=ip,
            detail={"request": record.id, "kind": record.kind, "result": getattr(exc, "error", "conflict")},
        )
        if isinstance(exc, Refusal):
            raise
        raise DecisionRefused("gone") from exc
    return outcome


def _effect(
    provider: Provider, console: Console, record: VerificationRecord, why: str | None, ip: str | None
) -> Callable[[], None] | None:
    """What approving `record` applies besides the level, prepared before the transaction (a
    password hash is not computed while holding it); None for a plain check."""
    if record.kind == "check":
        return None
    from idp.core import counter, disputes  # they build on the desk

    prepare = {
        "registration": counter.registration_approved,
        "recovery": counter.recovery_approved,
        "dispute": disputes.dispute_approved,
    }[record.kind]
    return prepare(provider, console, record, why, ip)


def reject(
    provider: Provider, console: Console, request_id: str, reason: str, *, ip: str | None = None
) -> VerificationRecord:
    require(console.staff, "verification.decide")
    record = get_request(provider, console, request_id)
    why = _reason(reason)
    outcome = provider.store.verifications.reject(record.id, console.staff.id, why, provider.clock.now())
    audit.record(
        provider,
        action="verification.reject",
        outcome="success" if outcome == "rejected" else "denied",
        actor=console.actor,
        subject=f"citizen:{record.citizen_pk}",
        ip=ip,
        detail={"request": record.id, "result": outcome, "reason": why},
    )
    if outcome != "rejected":
        raise DecisionRefused(outcome)
    return get_request(provider, console, record.id)
