"""Self-service flows bound to the browser (a cookie) or app (a secret in the JSON) that began them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.core.policy import FLOW_TTL
from idp.core.provider import Provider
from idp.crypto.opaque import digest, equal, new_token
from idp.errors import Expired
from idp.store.flows import FlowRecord


class FlowGone(Expired):
    """Unknown, expired, finished, or started elsewhere: the person must begin again."""


@dataclass(frozen=True)
class StartedFlow:
    flow_id: str
    secret: str  # a cookie for browsers, `flow_secret` for the JSON API; only its digest is stored


def start(provider: Provider, kind: str, citizen_id: str | None, data: dict[str, Any]) -> StartedFlow:
    now = provider.clock.now()
    started = StartedFlow(new_token(provider.rng, 16), new_token(provider.rng, 32))
    provider.store.flows.create(
        id=started.flow_id,
        kind=kind,
        binding_digest=digest(started.secret),
        citizen_id=citizen_id,
        data=data,
        created_at=now,
        expires_at=now + FLOW_TTL,
    )
    return started


def load(provider: Provider, flow_id: str, secret: str | None, kind: str, *, finished_ok: bool = False) -> FlowRecord:
    """The live flow this browser or app began; `finished_ok`: a finished one too (its last page,
    reloaded), until it expires."""
    record = provider.store.flows.get(flow_id) if 0 < len(flow_id) <= 64 else None
    if record is None or secret is None or record.kind != kind or not equal(digest(secret), record.binding_digest):
        raise FlowGone()
    if (record.completed_at is not None and not finished_ok) or record.expires_at <= provider.clock.now():
        raise FlowGone()
    return record
