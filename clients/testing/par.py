"""`/par` (RFC 9126): the authorization request on the back channel, authenticated and checked
when pushed; the browser carries only a `request_uri` that works once within 60 s. A DPoP proof
here binds the code to its key, as on the real provider."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .authorize import check_authorization
from .client_auth import CLIENT_AUTH_FIELDS, authenticate_client
from .dpop_checks import request_proof_key
from .messages import MockRequest, MockResponse, OAuthFailure
from .policy import PAR_LIFETIME, PAR_URN
from .records import Pushed

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["par"]


def par(provider: MockProvider, request: MockRequest) -> MockResponse:
    if request.method != "POST":
        raise OAuthFailure("invalid_request", "use POST", 405)
    client = authenticate_client(provider, request)
    params = {k: v for k, v in request.form.items() if k not in CLIENT_AUTH_FIELDS}
    if "request_uri" in params:
        raise OAuthFailure("invalid_request", "request_uri cannot be pushed")
    if params.get("client_id", client.client_id) != client.client_id:
        raise OAuthFailure("invalid_request", "client_id differs from the authenticated client")
    params["client_id"] = client.client_id
    jkt = request_proof_key(provider, request, "/par")
    if jkt is not None:
        if params.get("dpop_jkt", jkt) != jkt:
            raise OAuthFailure("invalid_dpop_proof", "dpop_jkt differs from the DPoP proof's key")
        params["dpop_jkt"] = jkt
    if params.get("redirect_uri") not in client.redirect_uris:
        raise OAuthFailure("invalid_request", "redirect_uri is not registered for this client")
    check_authorization(client, params)
    request_uri = PAR_URN + secrets.token_urlsafe(32)
    provider._ledger.pushed[request_uri] = Pushed(client.client_id, params, provider.clock() + PAR_LIFETIME)
    return MockResponse.json({"request_uri": request_uri, "expires_in": PAR_LIFETIME}, 201)
