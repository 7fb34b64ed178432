"""`/token`: the authorization code, refresh token and client credentials grants, each as strict
as the real provider where a portal could pass its tests and fail in production: single-use codes
bound to client, redirect URI, PKCE verifier and DPoP key; rotated refresh tokens whose replay ends
the grant, with the real provider's one retry inside the grace window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .citizens import SUPPORTED_SCOPES
from .client_auth import authenticate_client
from .dpop_checks import request_proof_key
from .messages import MockRequest, MockResponse, OAuthFailure
from .policy import ACCESS_TOKEN_LIFETIME, REFRESH_GRACE
from .records import Code, Refresh, RegisteredClient
from .signed_tokens import issue

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["token"]

_CITIZEN_SCOPES = frozenset(SUPPORTED_SCOPES)


def token(provider: MockProvider, request: MockRequest) -> MockResponse:
    if request.method != "POST":
        raise OAuthFailure("invalid_request", "use POST", 405)
    client = authenticate_client(provider, request)
    jkt = request_proof_key(provider, request, "/token")
    injected = provider._injected
    if injected is not None and injected.error is not None:
        raise OAuthFailure(injected.error, injected.description or "injected by the mock provider")
    if client.require_dpop and jkt is None:
        raise OAuthFailure("invalid_dpop_proof", "this client must send a DPoP proof")
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        code = _redeem_code(provider, request.form, client, jkt)
        grant = code.grant
        if jkt is not None and client.is_public:
            grant.dpop_jkt = jkt
        return MockResponse.json(issue(provider, grant, " ".join(grant.scopes), nonce=code.nonce, dpop_jkt=jkt))
    if grant_type == "refresh_token":
        return MockResponse.json(_refresh(provider, request.form, client, jkt))
    if grant_type == "client_credentials":
        return MockResponse.json(_client_credentials(provider, request.form, client, jkt))
    raise OAuthFailure("unsupported_grant_type", f"grant_type {grant_type} is not supported")


def _redeem_code(provider: MockProvider, form: Mapping[str, str], client: RegisteredClient, jkt: str | None) -> Code:
    code = provider._ledger.codes.pop(form.get("code", ""), None)  # single use, even when it then fails
    if code is None or code.grant.client_id != client.client_id or provider.clock() > code.expires_at:
        raise OAuthFailure("invalid_grant", "the authorization code is invalid")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthFailure("invalid_grant", "redirect_uri does not match the authorization request")
    verifier = form.get("code_verifier", "")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(challenge, code.code_challenge):
        raise OAuthFailure("invalid_grant", "code_verifier does not match the code_challenge")
    if code.dpop_jkt is not None and code.dpop_jkt != jkt:
        raise OAuthFailure("invalid_grant", "the code is bound to another DPoP key")  # RFC 9449 §10
    if code.grant.revoked:
        raise OAuthFailure("invalid_grant", "the authorization has been revoked")
    return code


def _refresh(
    provider: MockProvider, form: Mapping[str, str], client: RegisteredClient, jkt: str | None
) -> dict[str, Any]:
    token = form.get("refresh_token", "")
    record = provider._ledger.refresh_tokens.get(token)
    if record is None or record.grant.client_id != client.client_id:
        raise OAuthFailure("invalid_grant", "the refresh token is invalid")
    grant = record.grant
    if grant.dpop_jkt is not None and grant.dpop_jkt != jkt:  # before rotation: a thief cannot burn it
        raise OAuthFailure("invalid_grant", "the refresh token is bound to another DPoP key")
    now = provider.clock()
    if record.used and not _retry_within_grace(provider, record, now):
        grant.revoked = True  # RFC 9700 §4.14.2: a rotated token presented again leaked; end the grant
        raise OAuthFailure("invalid_grant", "the refresh token was already used")
    if grant.revoked or now > grant.expires_at:
        raise OAuthFailure("invalid_grant", "the refresh token has expired or was revoked")
    record.used_at = now
    scope = record.scope
    if "scope" in form:
        wanted = form["scope"].split()
        if not set(wanted) <= set(record.scope.split()):
            raise OAuthFailure("invalid_scope", "a refresh cannot widen the scope")
        scope = " ".join(wanted)
    issued = issue(provider, grant, scope, nonce=None, dpop_jkt=jkt, refresh_scope=record.scope)
    record.replaced_by = issued.get("refresh_token")
    return issued


def _retry_within_grace(provider: MockProvider, record: Refresh, now: float) -> bool:
    """The real provider's one retry: the token was rotated at most REFRESH_GRACE seconds ago and
    its successor never used; the successor dies and a new one takes its place."""
    successor = provider._ledger.refresh_tokens.get(record.replaced_by or "")
    if record.grace_used or record.used_at is None or now - record.used_at > REFRESH_GRACE:
        return False
    if successor is None or successor.used:
        return False
    successor.used_at = now
    record.grace_used = True
    return True


def _client_credentials(
    provider: MockProvider, form: Mapping[str, str], client: RegisteredClient, jkt: str | None
) -> dict[str, Any]:
    """RFC 6749 §4.4: a portal back-end calling APIs as itself, with its non-citizen scopes."""
    if client.is_public:
        raise OAuthFailure("unauthorized_client", "a public client cannot use client_credentials")
    allowed = sorted(set(client.scopes) - _CITIZEN_SCOPES)
    scope = form["scope"].split() if "scope" in form else allowed
    if not set(scope) <= set(allowed):
        raise OAuthFailure("invalid_scope", "scope is not allowed for this client")
    now = int(provider.clock())
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": client.client_id,
        "aud": provider.issuer,
        "client_id": client.client_id,
        "iat": now,
        "exp": now + ACCESS_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "scope": " ".join(scope),
    }
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    return {
        "access_token": provider.sign(claims, typ="at+jwt"),
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME,
        "scope": " ".join(scope),
    }
