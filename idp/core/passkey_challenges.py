"""The challenge every passkey ceremony signs, for citizens and staff alike: one rule, one place.

A challenge is kept in the `flow` table under its digest (never in clear), for
`PASSKEY_CHALLENGE_TTL`, bound to what asked for it (an interaction, a session, a reset flow, a
parked console password step) and to the person it was issued for. Spending it is atomic
(`flows.complete`), so a replayed answer, an expired challenge and one issued to another page or
person are all refused the same way.
"""

from __future__ import annotations

from idp.core.policy import PASSKEY_CHALLENGE_TTL
from idp.core.provider import Provider
from idp.crypto.opaque import digest, equal, new_token

__all__ = ["issue", "spend"]

CHALLENGE_MAX = 128  # ours are 43 characters; anything much longer is not one of ours


def issue(provider: Provider, kind: str, bound_to: str, owner: str | None) -> str:
    """A fresh challenge for one ceremony of `kind`, bound to `bound_to`, issued for `owner` (the
    citizen or staff member; None for a passwordless login, where nobody is known yet)."""
    challenge = new_token(provider.rng, 32)
    now = provider.clock.now()
    provider.store.flows.create(
        id=digest(challenge),
        kind=kind,
        binding_digest=digest(bound_to),
        citizen_id=owner,  # the flow's subject: a citizen, or a staff member for the console
        data={},
        created_at=now,
        expires_at=now + PASSKEY_CHALLENGE_TTL,
    )
    return challenge


def spend(provider: Provider, challenge: str, kind: str, bound_to: str) -> str | None:
    """Take the challenge once: whom it was issued for ('' when nobody), None when refused."""
    if not challenge or len(challenge) > CHALLENGE_MAX:
        return None
    flow = provider.store.flows.get(digest(challenge))
    if flow is None or flow.kind != kind or not equal(flow.binding_digest, digest(bound_to)):
        return None
    if not provider.store.flows.complete(flow.id, provider.clock.now()):
        return None  # spent (a replay) or expired
    return flow.citizen_id or ""
