"""POST /introspect (RFC 7662): a resource server asks whether a token is live and what it carries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import tokens
from idp.core.clients import authenticate_client
from idp.errors import InvalidRequest
from idp.http._run import core
from idp.http.client_auth import credentials
from idp.http.forms import one, read_form
from idp.http.render import json_response


async def introspect(request: Request) -> Response:
    provider = request.app.state.provider
    params = await read_form(request, provider.settings.max_body_bytes)
    found = credentials(request, params)
    if not one(params, "token"):
        raise InvalidRequest("token is required")

    def run() -> dict[str, object]:
        caller = authenticate_client(provider, found)
        return tokens.introspect(provider, caller, params)

    return json_response(await core(run))
