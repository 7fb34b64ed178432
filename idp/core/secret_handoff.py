"""A portal's new client secret, kept for the one console page that shows it, once.

Registering a portal or rotating its secret is a POST. Answering the POST with the secret meant a
reload posted again and registered a second portal. The POST now parks the secret here and
redirects (post/redirect/get); the page it lands on takes the secret, once. Parked, the secret is
sealed with the key outside the database (`provider.secrets`), bound to the staff session that
made it (the link in another browser shows nothing), wiped from the row when shown, and dropped
by housekeeping after `SECRET_HANDOFF_TTL` when never shown.
"""

from __future__ import annotations

import hmac

from idp.core.policy import SECRET_HANDOFF_TTL
from idp.core.provider import Provider
from idp.core.staff import Console
from idp.crypto.opaque import new_token

__all__ = ["KIND", "park", "take"]

KIND = "client_secret"  # the flow table's kind for a parked secret
_ID_MAX = 64


def _context(handoff_id: str) -> str:
    return f"handoff:{handoff_id}"


def park(provider: Provider, console: Console, client_id: str, secret: str) -> str:
    """Keep `secret` for the page that shows it; returns the id that page is opened with."""
    handoff_id = new_token(provider.rng, 18)
    now = provider.clock.now()
    provider.store.flows.create(
        id=handoff_id,
        kind=KIND,
        binding_digest=console.session.id_digest,
        citizen_id=None,
        data={"client_id": client_id, "sealed": provider.secrets.seal(secret, _context(handoff_id))},
        created_at=now,
        expires_at=now + SECRET_HANDOFF_TTL,
    )
    return handoff_id


def take(provider: Provider, console: Console, client_id: str, handoff_id: str) -> str | None:
    """The parked secret of `client_id`, the first time this staff session asks; None after that,
    once expired, from another session, or for an id that parked nothing."""
    record = provider.store.flows.get(handoff_id) if handoff_id and len(handoff_id) <= _ID_MAX else None
    if (
        record is None
        or record.kind != KIND
        or not hmac.compare_digest(record.binding_digest, console.session.id_digest)
        or record.data.get("client_id") != client_id
        or not provider.store.flows.take(handoff_id, provider.clock.now())
    ):
        return None
    return provider.secrets.unseal(str(record.data["sealed"]), _context(handoff_id))
