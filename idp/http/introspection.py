"""POST /introspect (RFC 7662): a resource server asks whether a token is live and what it carries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import tokens
from idp.http.client_auth import client_call
from idp.http.render import json_response


async def introspect(request: Request) -> Response:
    return json_response(
        await client_call(
            request, lambda provider, client, params, _: tokens.introspect(provider, client, params), local=True
        )
    )
