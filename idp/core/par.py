"""Pushed Authorization Requests (RFC 9126): the client sends the request on the back channel,
authenticated, and the browser carries only a `request_uri` that works once within 60 s."""

from __future__ import annotations

from typing import Any

from idp.core import authorize
from idp.core.params import Params, RawParams
from idp.core.policy import PAR_TTL
from idp.core.provider import Provider
from idp.crypto.opaque import digest, new_token
from idp.errors import InvalidDpopProof, InvalidRequest, InvalidRequestUri, OAuthError
from idp.store.records import ClientRecord

URN = "urn:ietf:params:oauth:request_uri:"


def push(provider: Provider, client: ClientRecord, raw: RawParams, dpop_jkt: str | None = None) -> dict[str, Any]:
    params = Params.of(raw)
    if params.one("request_uri") is not None:
        raise InvalidRequest("request_uri cannot be pushed")
    if params.one("client_id") not in (None, client.id):
        raise InvalidRequest("client_id differs from the authenticated client")
    merged = {
        k: list(v) for k, v in params.items() if k not in ("client_secret", "client_assertion", "client_assertion_type")
    }
    merged["client_id"] = [client.id]
    if dpop_jkt is not None:  # §10.1: the proof at PAR binds the code to its key
        if params.one("dpop_jkt") not in (None, dpop_jkt):
            raise InvalidDpopProof("dpop_jkt differs from the DPoP proof's key")
        merged["dpop_jkt"] = [dpop_jkt]
    try:
        authorize.validate(provider, merged, pushed=True)
    except OAuthError as exc:
        exc.redirect_uri = None  # §2.3: errors here are answered to the client directly, as JSON
        raise
    now = provider.clock.now()
    request_uri = URN + new_token(provider.rng, 32)
    provider.store.pushed_requests.push(digest(request_uri), client.id, merged, now, now + PAR_TTL)
    return {"request_uri": request_uri, "expires_in": PAR_TTL}


def resolve(provider: Provider, raw: RawParams) -> Params:
    """The pushed parameters for `/authorize?client_id=…&request_uri=…`, consumed once."""
    params = Params.of(raw)
    client_id, request_uri = params.one("client_id"), params.one("request_uri") or ""
    if not client_id:
        raise InvalidRequest("client_id is required with request_uri")
    pushed = provider.store.pushed_requests.take(digest(request_uri), client_id, provider.clock.now())
    if pushed is None:
        raise InvalidRequestUri("the request_uri is unknown, expired or already used")
    return Params(pushed)
