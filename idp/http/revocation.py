"""POST /revoke (RFC 7009): the client ends one of its tokens; the answer never says whether it existed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import tokens
from idp.core.clients import authenticate_client
from idp.http._run import core
from idp.http.client_auth import credentials
from idp.http.forms import one, read_form
from idp.http.render import NO_STORE
from idp.errors import InvalidRequest


async def revoke(request: Request) -> Response:
    provider = request.app.state.provider
    params = await read_form(request, provider.settings.max_body_bytes)
    found = credentials(request, params)
    if not one(params, "token"):
        raise InvalidRequest("token is required")

    def run() -> None:
        client = authenticate_client(provider, found)
        tokens.revoke(provider, client, params)

    await core(run)
    return Response(status_code=200, headers=NO_STORE)
