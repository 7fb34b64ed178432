"""GET/POST /userinfo (OIDC Core §5.3) with a Bearer access token (RFC 6750 §2.1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import tokens
from idp.http._run import core
from idp.http.render import json_response


async def userinfo(request: Request) -> Response:
    provider = request.app.state.provider
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        return json_response({"error": "invalid_token", "error_description": "a Bearer access token is required"},
                             401, {"WWW-Authenticate": f'Bearer realm="{provider.issuer}"'})
    claims = await core(tokens.userinfo, provider, token.strip())
    return json_response(claims)
