"""The token endpoint's answer, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidProviderResponse
from .id_token import IdTokenClaims

__all__ = ["TokenSet", "parse_token_response"]


@dataclass(frozen=True)
class TokenSet:
    """Tokens from one exchange or refresh. `id_token_claims` is always validated: it is None only
    for a refresh whose response carried no new ID token."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: float | None
    scope: str | None
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    id_token_claims: IdTokenClaims | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def claims(self) -> IdTokenClaims:
        """The validated ID token claims; raises if this response had no ID token."""
        if self.id_token_claims is None:
            raise InvalidProviderResponse("this token response carried no ID token")
        return self.id_token_claims


def parse_token_response(body: Any, now: float, *, id_token_required: bool) -> dict[str, Any]:
    """Check the shape of RFC 6749 §5.1's response; ID token validation happens afterwards."""
    if not isinstance(body, dict):
        raise InvalidProviderResponse("token response is not a JSON object")
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise InvalidProviderResponse("token response lacks access_token")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise InvalidProviderResponse(f"token_type {token_type!r} is not Bearer")
    id_token = body.get("id_token")
    if id_token_required and not isinstance(id_token, str):
        raise InvalidProviderResponse("token response lacks id_token")
    expires_in = body.get("expires_in")
    if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))):
        raise InvalidProviderResponse("expires_in is not a number")
    refresh_token = body.get("refresh_token")
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_at": now + expires_in if expires_in is not None else None,
        "scope": body.get("scope") if isinstance(body.get("scope"), str) else None,
        "refresh_token": refresh_token if isinstance(refresh_token, str) else None,
        "id_token": id_token if isinstance(id_token, str) else None,
        "raw": body,
    }
