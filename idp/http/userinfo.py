"""GET/POST /userinfo (OIDC Core §5.3) with a Bearer access token (RFC 6750 §2.1).

A refused token or DPoP proof is rendered by `idp.http.render`, which knows this is a protected
resource (a proof problem here is a 401 with a DPoP challenge, RFC 9449 §7.1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import tokens
from idp.http.offload import read, unit
from idp.http.render import DPOP_ALGS, challenge, json_response


async def userinfo(request: Request) -> Response:
    provider = request.app.state.provider
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    scheme, token = scheme.lower(), token.strip()
    if scheme not in ("bearer", "dpop") or not token:
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        return json_response(
            {"error": "invalid_token", "error_description": "an access token is required"},
            401,
            {"WWW-Authenticate": f"{challenge('Bearer', realm=provider.issuer)}, {challenge('DPoP', algs=DPOP_ALGS)}"},
        )
    if scheme == "bearer":  # a signature check and one read: no write (offload.read)
        return json_response(await read(provider, tokens.userinfo, provider, token))
    # A DPoP proof's jti is written down (replay): a database unit with a write (offload.unit).
    proofs = request.headers.getlist("dpop")
    return json_response(await unit(provider, tokens.userinfo, provider, token, scheme, proofs, request.method))
