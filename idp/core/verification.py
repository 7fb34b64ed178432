"""The verification desk (maker–checker), and what staff may do to a citizen's account.

A clerk records an in-person check of a citizen's papers; a *different* staff member holding
`supervisor` approves (the account reaches LoA2) or rejects it (with a reason). The record
carries a digest of the identity fields the clerk saw; if any of them changes before the
decision, approval is refused and the record is voided (the store checks the fields again in
the same transaction that raises the level, so no change can slip in between).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
import uuid
from dataclasses import dataclass

from idp.core import audit, factors, logout, notify
from idp.core.identity import normalize_phone
from idp.core.levels import LOA2
from idp.core.provider import Provider
from idp.core.staff import Console, require
from idp.errors import Refusal, ValidationError
from idp.store.audit import AuditRow
from idp.store.directories import ConnectedPortal, SessionSummary
from idp.store.records import CitizenRecord
from idp.store.verification import IDENTITY_FIELDS, VerificationRecord, identity_of

DOCUMENT_TYPES = ("cccd", "cmnd", "passport")
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
}


class DecisionRefused(Refusal):
    """`reason` is `own` (self-approval), `stale` (the account changed; the record is void) or
    `gone` (already decided, possibly by a racing supervisor)."""

    status_code = 409

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = f"decision_{reason}"

    @property
    def description(self) -> str:
        return _DECISION_REFUSED[self.reason]


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
    citizen = _citizen(provider, citizen_pk)
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


def _citizen(provider: Provider, citizen_pk: str) -> CitizenRecord:
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
    citizen = _citizen(provider, citizen_pk)
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
    citizen = _citizen(provider, citizen_pk)
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
    """The authenticator app and recovery codes are removed; the citizen is told by SMS."""
    require(console.staff, "citizens.reset_authenticator")
    citizen = _citizen(provider, citizen_pk)
    why = _reason(reason)
    now = provider.clock.now()
    provider.store.citizen_directory.remove_second_factors(citizen.id)
    provider.store.sessions.end_all_for(citizen.id, now)
    notify.send(
        provider,
        channel="sms",
        to=citizen.phone,
        purpose="notice",
        text="PostID: ung dung xac thuc cua ban da duoc go bo theo yeu cau tai quay. "
        "Neu khong phai ban, hay goi tong dai ngay.",
    )
    audit.record(
        provider,
        action="citizen.reset_authenticator",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
        detail={"reason": why},
    )


def end_sessions(provider: Provider, console: Console, citizen_pk: str, *, ip: str | None = None) -> None:
    require(console.staff, "citizens.end_sessions")
    citizen = _citizen(provider, citizen_pk)
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
    data_matches: bool,
    note: str = "",
    ip: str | None = None,
) -> VerificationRecord:
    """The clerk's record of an in-person check, with the identity fields as seen now."""
    require(console.staff, "verification.record")
    citizen = _citizen(provider, citizen_pk)
    if citizen.status != "active":
        raise ValidationError("citizen", "inactive")
    if document_type not in DOCUMENT_TYPES:
        raise ValidationError("document_type", "choice")
    number = document_number.strip().upper()
    if not number or len(number) > 64 or not number.isalnum():
        raise ValidationError("document_number", "required")
    if not data_matches:
        raise ValidationError("data_matches", "required")
    identity = identity_of(citizen)
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
        now=provider.clock.now(),
    )
    audit.record(
        provider,
        action="verification.record",
        outcome="success",
        actor=console.actor,
        subject=f"citizen:{citizen.id}",
        ip=ip,
        detail={"request": record.id, "document_type": document_type},
    )
    return record


def pending(provider: Provider, console: Console) -> list[VerificationRecord]:
    require(console.staff, "verification.read")
    return provider.store.verifications.list(status="pending")


def get_request(provider: Provider, console: Console, request_id: str) -> VerificationRecord:
    require(console.staff, "verification.read")
    record = provider.store.verifications.get(request_id) if len(request_id) <= 36 else None
    if record is None:
        raise NotFound()
    return record


def approve(provider: Provider, console: Console, request_id: str, *, ip: str | None = None) -> VerificationRecord:
    require(console.staff, "verification.decide")
    record = get_request(provider, console, request_id)
    now = provider.clock.now()
    citizen = provider.store.citizens.get(record.citizen_pk)
    if citizen is not None and identity_digest(identity_of(citizen)) != record.identity_digest:
        provider.store.verifications.void(
            record.id, console.staff.id, now, "the account's data changed after the record"
        )
        outcome = "stale"
    else:
        outcome = provider.store.verifications.approve(record.id, console.staff.id, now, raise_to=LOA2)
    audit.record(
        provider,
        action="verification.approve",
        outcome="success" if outcome == "approved" else "denied",
        actor=console.actor,
        subject=f"citizen:{record.citizen_pk}",
        ip=ip,
        detail={"request": record.id, "result": outcome},
    )
    if outcome != "approved":
        raise DecisionRefused(outcome)
    return get_request(provider, console, record.id)


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
