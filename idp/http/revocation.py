"""POST /revoke (RFC 7009): the client ends one of its tokens; the answer never says whether it existed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import tokens
from idp.http.client_auth import client_call
from idp.http.render import NO_STORE


async def revoke(request: Request) -> Response:
    await client_call(request, lambda provider, client, params, _: tokens.revoke(provider, client, params), local=True)
    return Response(status_code=200, headers=NO_STORE)
