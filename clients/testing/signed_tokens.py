"""What the mock signs and reads back, claim for claim as the real provider (idp/core/tokens.py):
which claims ride in the access token, which in the ID token and which only at userinfo. A portal
that reads a claim from the wrong token should fail against the mock, not in production."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import jwt

from .._jose import left_half_hash
from .messages import BearerFailure
from .policy import ACCESS_TOKEN_LIFETIME, ID_TOKEN_LIFETIME, LEEWAY
from .records import Grant, Refresh

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["issue", "read_access_token"]


def issue(
    provider: MockProvider,
    grant: Grant,
    scope: str,
    *,
    nonce: str | None,
    dpop_jkt: str | None,
    refresh_scope: str | None = None,
) -> dict[str, Any]:
    """The real provider's tokens claim for claim (idp/core/tokens.py `issue`): the access token
    carries the login (`acr`, `amr`, `auth_time`) and the grant; the ID token carries who and how,
    plus the citizen ID number's standing with the `citizen_id` scope; profile, email, phone and
    national profile claims are released at userinfo only."""
    now = int(provider.clock())
    scopes = scope.split()
    access_claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": grant.citizen.sub,
        "aud": provider.issuer,
        "client_id": grant.client_id,
        "iat": now,
        "exp": now + ACCESS_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
        "auth_time": grant.auth_time,
        "acr": grant.acr,
        "amr": list(grant.amr),
        "gid": grant.id,
    }
    if dpop_jkt:
        access_claims["cnf"] = {"jkt": dpop_jkt}  # RFC 9449 §6.1
    access_token = provider.sign(access_claims, typ="at+jwt")
    response: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "DPoP" if dpop_jkt else "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME,
        "scope": scope,
    }
    if "openid" in scopes:
        id_claims: dict[str, Any] = {
            "iss": provider.issuer,
            "sub": grant.citizen.sub,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "amr": list(grant.amr),
            "at_hash": left_half_hash(access_token, "ES256"),
            "sid": grant.sid,
        }
        if nonce is not None:
            id_claims["nonce"] = nonce
        if "citizen_id" in scopes:
            id_claims.update(grant.citizen.citizen_id_claims())
        response["id_token"] = provider.sign(id_claims)
    if "offline_access" in grant.scopes:
        refresh_token = secrets.token_urlsafe(32)
        provider._ledger.refresh_tokens[refresh_token] = Refresh(grant, refresh_scope or scope)
        response["refresh_token"] = refresh_token
    return response


def read_access_token(provider: MockProvider, token: str) -> tuple[dict[str, Any], Grant | None]:
    """The claims of one of the mock's own live access tokens and the grant it hangs off (None for
    client_credentials), or `BearerFailure`: pinned to ES256 and `typ: at+jwt`, expired past the
    leeway, revoked on its own or with its grant."""
    ledger = provider._ledger
    try:
        header = jwt.get_unverified_header(token)
        key = provider._keys.find(header.get("kid"))
        if key is None or header.get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("unknown key or not an access token")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.private.public_key(),
            algorithms=["ES256"],
            audience=provider.issuer,
            issuer=provider.issuer,
            options={"verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise BearerFailure("the access token is invalid") from None
    if claims["exp"] + LEEWAY < provider.clock():
        raise BearerFailure("the access token is invalid")
    grant = ledger.grants.get(str(claims.get("gid"))) if "gid" in claims else None
    if claims["jti"] in ledger.revoked_access or (grant is not None and grant.revoked):
        raise BearerFailure("the access token was revoked")
    return claims, grant
