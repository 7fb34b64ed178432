"""The token endpoint's answer, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .dpop import DPoPKey
from .errors import InvalidProviderResponse
from .id_token import IdTokenClaims

__all__ = ["Introspection", "TokenSet", "parse_token_response"]


@dataclass(frozen=True)
class TokenSet:
    """Tokens from one exchange or refresh. `id_token_claims` is always validated: it is None only
    for a response that carried no ID token (a refresh may omit it; `client_credentials` never has
    one). `subject` is the citizen the tokens are about, kept across refreshes so the next refresh
    can check it. `dpop_key` is the key the tokens are bound to (None for Bearer tokens)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: float | None
    scope: str | None
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    id_token_claims: IdTokenClaims | None = None
    subject: str | None = None
    dpop_key: DPoPKey | None = field(default=None, repr=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def claims(self) -> IdTokenClaims:
        """The validated ID token claims; raises if this response had no ID token."""
        if self.id_token_claims is None:
            raise InvalidProviderResponse("this token response carried no ID token")
        return self.id_token_claims

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - seconds <= now


def parse_token_response(body: Any, now: float, *, id_token_required: bool, dpop: bool = False) -> dict[str, Any]:
    """Check the shape of RFC 6749 §5.1's response; ID token validation happens afterwards. A
    `DPoP` token type is accepted only when the request carried a proof (RFC 9449 §5)."""
    if not isinstance(body, dict):
        raise InvalidProviderResponse("token response is not a JSON object")
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise InvalidProviderResponse("token response lacks access_token")
    token_type = body.get("token_type")
    allowed = ("bearer", "dpop") if dpop else ("bearer",)
    if not isinstance(token_type, str) or token_type.lower() not in allowed:
        raise InvalidProviderResponse(f"token_type {token_type!r} is not {' or '.join(allowed)}")
    id_token = body.get("id_token")
    if id_token_required and not isinstance(id_token, str):
        raise InvalidProviderResponse("token response lacks id_token")
    expires_in = body.get("expires_in")
    if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))):
        raise InvalidProviderResponse("expires_in is not a number")
    refresh_token = body.get("refresh_token")
    return {
        "access_token": access_token,
        "token_type": "DPoP" if token_type.lower() == "dpop" else "Bearer",
        "expires_at": now + expires_in if expires_in is not None else None,
        "scope": body.get("scope") if isinstance(body.get("scope"), str) else None,
        "refresh_token": refresh_token if isinstance(refresh_token, str) else None,
        "id_token": id_token if isinstance(id_token, str) else None,
        "raw": body,
    }


@dataclass(frozen=True)
class Introspection:
    """RFC 7662 §2.2: whether a token is live, and what the provider says about it."""

    active: bool
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sub(self) -> str | None:
        value = self.claims.get("sub")
        return value if isinstance(value, str) else None

    @property
    def scope(self) -> tuple[str, ...]:
        value = self.claims.get("scope")
        return tuple(value.split()) if isinstance(value, str) else ()

    @property
    def client_id(self) -> str | None:
        value = self.claims.get("client_id")
        return value if isinstance(value, str) else None
