"""The audit trail: who did what to whom, when, from where, and how it ended.

Every event is chained to the previous one: `hash = SHA-256(canonical JSON of the event's
fields + prev_hash)`, so editing, deleting or reordering a stored row breaks the chain at that
row, and `verify` names it. Appends are serialised by the store (one head row), so two processes
appending at once cannot fork the chain. `prune` drops old events and records a checkpoint (the
last removed event's sequence number and hash) from which the rest still verifies.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from idp.context import CLIENT_IP, REQUEST_ID, USER_AGENT
from idp.core.provider import Provider
from idp.store.audit import AuditFilter, AuditRow

__all__ = ["AuditFilter", "Break", "export_csv", "export_jsonl", "prune", "record", "verify"]

log = logging.getLogger("idp.audit")

OUTCOMES = ("success", "failure", "denied")
EXPORT_COLUMNS = (
    "seq",
    "at",
    "action",
    "outcome",
    "actor",
    "subject",
    "client_id",
    "ip",
    "user_agent",
    "detail",
    "prev_hash",
    "hash",
)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(fields: dict[str, Any], prev_hash: str) -> str:
    body = canonical({**{k: fields.get(k) for k in sorted(fields)}, "prev_hash": prev_hash})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def record(
    provider: Provider,
    *,
    action: str,
    outcome: str,
    actor: str | None = None,
    subject: str | None = None,
    client_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event (inside a unit of work, as the unit commits). `actor` is who acted
    (`staff:<username>`, `citizen:<id>`, `system`), `subject` what it was done to
    (`citizen:<id>`, `client:<id>`, `key:<kid>`...); `detail` is a small JSON object and must
    never hold a secret (no passwords, codes or tokens)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    # Who asked, from where, and which request (the id in the logs): taken from the request
    # being served when the caller did not say.
    ip = ip if ip is not None else CLIENT_IP.get()
    user_agent = user_agent if user_agent is not None else USER_AGENT.get()
    if REQUEST_ID.get() != "-":
        detail = {**(detail or {}), "request_id": REQUEST_ID.get()}
    values = {
        "at": provider.clock.now(),
        "action": action[:64],
        "outcome": outcome,
        "actor": _clip(actor, 100),
        "subject": _clip(subject, 100),
        "client_id": _clip(client_id, 64),
        "ip": _clip(ip, 64),
        "user_agent": _clip(user_agent, 300),
        "detail": canonical(detail or {}),
    }
    provider.store.audit.append(values, event_hash)


@dataclass(frozen=True)
class Break:
    """The first event where the chain does not hold, and why."""

    seq: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad: Break | None
    checkpoint_seq: int
    head_seq: int


def verify(provider: Provider) -> Verdict:
    """Recompute the chain from the checkpoint; the first row that does not fit is named."""
    checkpoint_seq, running = provider.store.audit.checkpoint()
    head_seq, head_hash = provider.store.audit.head()
    expected_seq = checkpoint_seq + 1
    checked = 0
    for row in provider.store.audit.iterate():
        if row.seq != expected_seq:
            # A gap (a deleted row): the first missing number is the bad event.
            return Verdict(
                False, checked, Break(expected_seq, "missing or out-of-order event"), checkpoint_seq, head_seq
            )
        if row.prev_hash != running:
            return Verdict(
                False, checked, Break(row.seq, "prev_hash does not match the previous event"), checkpoint_seq, head_seq
            )
        if event_hash(row.fields(), row.prev_hash) != row.hash:
            return Verdict(
                False, checked, Break(row.seq, "the event's content does not match its hash"), checkpoint_seq, head_seq
            )
        running = row.hash
        expected_seq += 1
        checked += 1
    if expected_seq - 1 != head_seq or running != head_hash:
        return Verdict(
            False, checked, Break(expected_seq, "events after this point are missing"), checkpoint_seq, head_seq
        )
    return Verdict(True, checked, None, checkpoint_seq, head_seq)


def prune(provider: Provider, *, retention_days: int | None = None, actor: str = "system") -> int:
    """Remove events older than the retention period; the chain stays verifiable from the checkpoint."""
    days = retention_days if retention_days is not None else provider.settings.audit_retention_days
    now = provider.clock.now()
    removed = provider.store.audit.prune_before(now - days * 86400, now)
    record(provider, action="audit.prune", outcome="success", actor=actor, detail={"removed": removed, "days": days})
    return removed


def search(provider: Provider, where: AuditFilter, limit: int = 100, offset: int = 0) -> list[AuditRow]:
    return provider.store.audit.search(where, limit=min(max(limit, 1), 1000), offset=max(offset, 0))


def _matching(provider: Provider, where: AuditFilter) -> Iterator[AuditRow]:
    for row in provider.store.audit.iterate():
        if (
            all(
                getattr(where, name) in (None, "", getattr(row, name))
                for name in ("action", "actor", "subject", "outcome")
            )
            and (where.since is None or row.at >= where.since)
            and (where.until is None or row.at < where.until)
        ):
            yield row


def _as_dict(row: AuditRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in EXPORT_COLUMNS}


def export_jsonl(provider: Provider, where: AuditFilter) -> Iterable[str]:
    for row in _matching(provider, where):
        yield canonical(_as_dict(row)) + "\n"


def _csv_cell(value: Any) -> Any:
    """Spreadsheet formula injection: a cell starting with = + - @ is read as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(provider: Provider, where: AuditFilter) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in _matching(provider, where):
        writer.writerow([_csv_cell(v) for v in _as_dict(row).values()])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
