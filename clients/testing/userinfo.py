"""`/userinfo`: the claims the citizen's scopes release, for a live access token presented the way
it was bound (Bearer, or DPoP with a proof of its key and `ath`). Refusals are 401 challenges as
RFC 6750 §3 and RFC 9449 §7.1 say, so a portal learns to read them before production."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dpop_checks import ALGS as DPOP_ALGS
from .dpop_checks import request_proof_key
from .messages import BearerFailure, MockRequest, MockResponse, OAuthFailure
from .signed_tokens import read_access_token

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["userinfo"]


def userinfo(provider: MockProvider, request: MockRequest) -> MockResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    scheme, token = scheme.lower(), token.strip()
    try:
        if scheme not in ("bearer", "dpop") or not token:
            raise BearerFailure("an access token is required", error="")
        claims, grant = read_access_token(provider, token)
        jkt = None
        if scheme == "dpop":
            try:
                jkt = request_proof_key(provider, request, "/userinfo", access_token=token)
            except OAuthFailure as failure:
                raise BearerFailure(failure.description, failure.error, dpop=True) from None
        bound = claims.get("cnf", {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
        if bound is None and scheme != "bearer":
            raise BearerFailure("this access token is not DPoP-bound")
        if bound is not None and (scheme != "dpop" or jkt != bound):
            raise BearerFailure("this access token must be used with a DPoP proof of its key")
        if grant is None:
            raise BearerFailure("the access token does not name a citizen")
    except BearerFailure as failure:
        return _bearer_refusal(provider, failure)
    citizen = provider.citizens[grant.citizen.sub]
    return MockResponse.json({"sub": claims["sub"], **citizen.released_claims(str(claims["scope"]).split())})


def _bearer_refusal(provider: MockProvider, failure: BearerFailure) -> MockResponse:
    """RFC 6750 §3 and RFC 9449 §7.1: a 401 with the challenges; no error code when no token came."""
    algs = " ".join(DPOP_ALGS)
    if failure.dpop:
        challenge = f'DPoP error="{failure.error}", algs="{algs}"'
        headers = {"www-authenticate": challenge}
        if provider.dpop_nonce:
            headers["dpop-nonce"] = provider.dpop_nonce
        return MockResponse.json({"error": failure.error, "error_description": failure.description}, 401, headers)
    if not failure.error:
        challenge = f'Bearer realm="{provider.issuer}", DPoP algs="{algs}"'
        body = {"error": "invalid_token", "error_description": failure.description}
        return MockResponse.json(body, 401, {"www-authenticate": challenge})
    challenge = f'Bearer realm="{provider.issuer}", error="{failure.error}", error_description="{failure.description}"'
    return MockResponse.json(
        {"error": failure.error, "error_description": failure.description}, 401, {"www-authenticate": challenge}
    )
