"""`/revoke` (RFC 7009 §2.2): the same answer whether or not the token was known, so it tells a
caller nothing; a refresh token's revocation ends its whole grant, as on the real provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .client_auth import authenticate_client
from .messages import BearerFailure, MockRequest, MockResponse
from .signed_tokens import read_access_token

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["revoke"]


def revoke(provider: MockProvider, request: MockRequest) -> MockResponse:
    client = authenticate_client(provider, request)
    token = request.form.get("token", "")
    record = provider._ledger.refresh_tokens.get(token)
    if record is not None and record.grant.client_id == client.client_id:
        record.grant.revoked = True
    elif token.count(".") == 2:
        try:
            claims, _ = read_access_token(provider, token)
            if claims.get("client_id") == client.client_id:
                provider._ledger.revoked_access.add(str(claims["jti"]))
        except BearerFailure:
            pass
    return MockResponse(200, {"cache-control": "no-store"}, b"")
