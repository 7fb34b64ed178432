"""Ending a citizen's session everywhere: RP-initiated logout (OIDC RP-Initiated Logout 1.0) and
back-channel logout tokens to every portal that took part (OIDC Back-Channel Logout 1.0).

Ending a session also revokes the grants made in it, so refresh tokens die with it; locking an
account ends all of them (`end_account`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from idp.core import audit, notify
from idp.core.id_token_hints import BadHint, IdTokenHint, read_hint
from idp.core.policy import LOGOUT_TOKEN_TTL
from idp.core.provider import Provider
from idp.core.subjects import subject_for
from idp.crypto.jwts import TYP_LOGOUT_TOKEN, renewed, sign
from idp.crypto.opaque import new_token
from idp.store.records import ClientRecord, SessionRecord

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def check_hint(provider: Provider, id_token_hint: str | None, client_id: str | None) -> IdTokenHint | None:
    """The hint's portal and session when it is one of our ID tokens (expired ones too: §2); None
    when it is missing, forged, or names another client than `client_id`: logout then asks first."""
    if not id_token_hint:
        return None
    try:
        hint = read_hint(provider, id_token_hint)
    except BadHint:
        return None
    if client_id and client_id != hint.client.id:
        return None
    return hint


def hint_matches(provider: Provider, hint: IdTokenHint, session: SessionRecord | None) -> bool:
    if session is None:
        return False
    if hint.sid is not None:
        return hint.sid == session.sid
    return hint.names_citizen(provider, session.citizen_id)


def end_session(provider: Provider, session: SessionRecord) -> None:
    """End the browser session, revoke its grants and tell every portal of it on its back channel."""
    now = provider.clock.now()
    provider.store.sessions.end(session.id_digest, now)
    audit.record(
        provider,
        action="citizen.logout",
        outcome="success",
        actor=f"citizen:{session.citizen_id}",
        subject=f"citizen:{session.citizen_id}",
    )
    told: set[str] = set()
    for grant in provider.store.grants.live_for_session(session.sid):
        provider.store.grants.revoke(grant.id, now)
        if grant.client_id in told:
            continue
        told.add(grant.client_id)
        _tell_portal(provider, grant.client_id, session.citizen_id, session.sid)


def end_account(provider: Provider, citizen_id: str) -> None:
    """Everything the account was given ends at once (a lock, an automatic lock): its sessions, its
    grants and with them every refresh and access token, and each portal that held a grant is told on
    its back channel. The logout token names the subject without a `sid`, which ends every session
    the portal has for it (OIDC Back-Channel Logout §2.4). An unlock gives none of it back."""
    now = provider.clock.now()
    provider.store.sessions.end_all_for(citizen_id, now)
    for client_id in sorted(provider.store.grants.revoke_all_for(citizen_id, now)):
        _tell_portal(provider, client_id, citizen_id, None)


def _tell_portal(provider: Provider, client_id: str, citizen_id: str, sid: str | None) -> None:
    """Queue a logout token for the portal's back channel, if it registered one."""
    client = provider.store.clients.get(client_id)
    if client is not None and client.backchannel_logout_uri:
        notify.send(
            provider,
            channel="logout",
            to=client.backchannel_logout_uri,
            purpose="logout",
            text=_logout_token(provider, client, citizen_id, sid),
        )


def _logout_token(provider: Provider, client: ClientRecord, citizen_id: str, sid: str | None) -> str:
    now = provider.clock.now()
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "aud": client.id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": new_token(provider.rng, 16),
        "sub": subject_for(provider, citizen_id, client),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    if sid is not None:
        claims["sid"] = sid
    return sign(claims, provider.keys.signer(client.id_token_alg), TYP_LOGOUT_TOKEN)


def renew_on_send(provider: Provider) -> Callable[[str], str]:
    """What the back-channel sender applies to a logout token as it leaves. The outbox retries a portal
    that is down for up to IDP_DELIVERY_RETRY_FOR, far past the token's two-minute `exp` (kept short, as
    Back-Channel Logout §2.4 recommends): signed again at send time, a late token is still one the
    portal accepts, and its unchanged `jti` lets the portal see a repeat of one it already took."""

    def renew(token: str) -> str:
        return renewed(token, provider.keys, typ=TYP_LOGOUT_TOKEN, now=provider.clock.now(), lifetime=LOGOUT_TOKEN_TTL)

    return renew


def post_logout_target(hint: IdTokenHint | None, uri: str | None, state: str | None) -> str | None:
    """Where to send the browser afterwards: only to a URI registered for the hinted portal,
    compared as an exact string; never on the strength of an unproven request."""
    if hint is None or not uri or uri not in hint.client.post_logout_redirect_uris:
        return None
    if state:
        return f"{uri}{'&' if '?' in uri else '?'}{urlencode({'state': state})}"
    return uri
