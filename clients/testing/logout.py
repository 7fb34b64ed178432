"""Logout, both ways the real provider does it: RP-initiated (`/logout` with an `id_token_hint`)
and the back channel (OIDC Back-Channel Logout 1.0) that tells every portal of the session. Ending
a session revokes its grants under the provider's lock; the logout tokens are POSTed after the
lock is released, because a portal reading one may call back for the JWKS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import jwt

from .messages import MockRequest, MockResponse, add_query
from .records import Delivery, Pending, RegisteredClient, Session

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["deliver", "end_session", "rp_logout"]


def rp_logout(provider: MockProvider, request: MockRequest) -> MockResponse:
    """RP-initiated logout: with a hint naming a live session, the session ends and every portal
    that took part is told on its back channel; the browser goes back only to a URI registered
    for the hinted portal."""
    params = {**request.query, **request.form}
    hinted: RegisteredClient | None = None
    hint = params.get("id_token_hint")
    if hint:
        try:
            header = jwt.get_unverified_header(hint)
            key = provider._keys.find(header.get("kid"))
            if key is not None:
                options: Any = {"verify_exp": False, "verify_aud": False}
                claims = jwt.decode(hint, key.private.public_key(), algorithms=["ES256"], options=options)
                hinted = provider.clients.get(str(claims.get("aud")))
                if params.get("client_id") not in (None, str(claims.get("aud"))):
                    hinted = None
                session = provider._ledger.sessions.get(str(claims.get("sub")))
                if hinted is not None and session is not None and session.sid == claims.get("sid"):
                    if not session.ended:
                        end_session(provider, session)
        except jwt.PyJWTError:
            hinted = None
    target = params.get("post_logout_redirect_uri")
    if hinted is not None and target and target in hinted.post_logout_redirect_uris:
        extra = {"state": params["state"]} if "state" in params else {}
        return MockResponse.redirect(add_query(target, extra))
    return MockResponse.page("Đã đăng xuất", "<p>Bạn đã đăng xuất khỏi PostID.</p>")


def end_session(provider: MockProvider, session: Session) -> None:
    """End the session, revoke its grants, queue a logout token for each portal that took part."""
    ledger = provider._ledger
    session.ended = True
    provider.ended_sessions.append(session.sid)
    told: set[str] = set()
    for grant in ledger.grants.values():
        if grant.sid != session.sid or grant.revoked:
            continue
        grant.revoked = True
        if grant.client_id in told:
            continue
        told.add(grant.client_id)
        client = provider.clients.get(grant.client_id)
        if client is not None and client.backchannel_logout_uri:
            token = provider.logout_token(client.client_id, sub=grant.citizen.sub, sid=session.sid)
            ledger.pending.items.append((client, token))


def deliver(provider: MockProvider, pending: Pending, http_client: httpx.Client | None) -> list[Delivery]:
    """POST each token (OIDC Back-Channel Logout §2.5: form-encoded `logout_token`)."""
    http = http_client or provider._backchannel_client
    owned = http is None
    if http is None:
        http = httpx.Client(timeout=10)
    results = []
    try:
        for client, token in pending.items:
            uri = client.backchannel_logout_uri or ""
            try:
                answer = http.post(uri, data={"logout_token": token})
                results.append(Delivery(client.client_id, uri, token, answer.status_code))
            except httpx.HTTPError as exc:
                results.append(Delivery(client.client_id, uri, token, None, f"{type(exc).__name__}: {exc}"))
    finally:
        if owned:
            http.close()
    with provider._lock:
        provider.deliveries.extend(results)
    return results
