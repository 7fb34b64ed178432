"""`/introspect` (RFC 7662 §2), as the real provider answers it: confidential clients only; an
access token is described to any of them, a refresh token only to the portal it was issued to;
anything dead, unknown or foreign is just `active: false`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .client_auth import authenticate_client
from .messages import BearerFailure, MockRequest, MockResponse, OAuthFailure
from .signed_tokens import read_access_token

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["introspect"]

_ACCESS_CLAIMS = ("scope", "client_id", "sub", "exp", "iat", "iss", "jti", "acr", "amr", "auth_time", "cnf")


def introspect(provider: MockProvider, request: MockRequest) -> MockResponse:
    if request.method != "POST":
        raise OAuthFailure("invalid_request", "use POST", 405)
    caller = authenticate_client(provider, request)
    if caller.is_public:
        raise OAuthFailure("invalid_client", "a public client cannot introspect tokens", 401)
    token = request.form.get("token", "")
    if token.count(".") == 2:
        try:
            claims, _ = read_access_token(provider, token)
        except BearerFailure:
            return MockResponse.json({"active": False})
        answer = {name: claims[name] for name in _ACCESS_CLAIMS if name in claims}
        token_type = "DPoP" if "cnf" in claims else "Bearer"
        return MockResponse.json({"active": True, "token_type": token_type, "aud": claims["aud"], **answer})
    record = provider._ledger.refresh_tokens.get(token)
    if record is None or record.used or record.grant.revoked or record.grant.client_id != caller.client_id:
        return MockResponse.json({"active": False})
    return MockResponse.json(
        {
            "active": True,
            "token_type": "refresh_token",
            "scope": record.scope,
            "client_id": record.grant.client_id,
            "sub": record.grant.citizen.sub,
            "exp": int(record.grant.expires_at),
            "iss": provider.issuer,
        }
    )
