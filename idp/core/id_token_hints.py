"""`id_token_hint`: one of our own ID tokens, handed back by the portal it was issued to, naming the
citizen it expects. Read the same way at /authorize (OIDC Core §3.1.2.1) and /logout (RP-Initiated
Logout §2), so a hint one endpoint believes the other believes too.

Proven by our signature (any published key, retired ones included: a hint may be old), our issuer
and an `nbf` not ahead; its expiry is ignored, since an expired ID token is still a good hint. The
`sub` in it is the portal's view of the citizen (pairwise per portal), so it is compared through
`subject_for` with that portal, never with the citizen's own id.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.core.provider import Provider
from idp.core.subjects import subject_for
from idp.crypto.jwts import TYP_ID_TOKEN, BadToken, verify_ignoring_expiry
from idp.store.records import ClientRecord

# Our ID tokens are a few hundred bytes; a hint far longer is not one of them.
MAX_HINT_LENGTH = 8192


class BadHint(BadToken):
    """The hint is not an ID token we issued to a portal we know."""


@dataclass(frozen=True)
class IdTokenHint:
    """A proven hint: the portal the ID token was issued to, and the session and citizen it names."""

    client: ClientRecord
    audiences: frozenset[str]
    sub: str
    sid: str | None

    def names_citizen(self, provider: Provider, citizen_id: str) -> bool:
        """True when `sub` is how this hint's portal was told of `citizen_id` (pairwise or public)."""
        return self.sub == subject_for(provider, citizen_id, self.client)


def read_hint(provider: Provider, token: str) -> IdTokenHint:
    """The hint, or `BadHint` when it is malformed, forged, not ours, or for a portal we do not know."""
    if len(token) > MAX_HINT_LENGTH:
        raise BadHint("the hint is too long")
    try:
        claims = verify_ignoring_expiry(
            token,
            provider.keys,
            typ=TYP_ID_TOKEN,
            issuer=provider.issuer,
            now=provider.clock.now(),
            leeway=provider.settings.clock_leeway,
        )
    except BadToken as exc:
        raise BadHint(str(exc)) from None
    audiences = _audiences(claims.get("aud"))
    azp = claims.get("azp")
    issued_to = azp if isinstance(azp, str) else min(audiences) if len(audiences) == 1 else None
    if issued_to is None or issued_to not in audiences:
        raise BadHint("the hint names no single portal")  # OIDC Core §2: azp is needed with several audiences
    client = provider.store.clients.get(issued_to)
    if client is None:
        raise BadHint("the hint's portal is unknown")
    sid = claims.get("sid")
    return IdTokenHint(client, audiences, str(claims["sub"]), sid if isinstance(sid, str) else None)


def _audiences(aud: object) -> frozenset[str]:
    if isinstance(aud, str):
        return frozenset([aud])
    if isinstance(aud, list):
        return frozenset(a for a in aud if isinstance(a, str))
    return frozenset()
