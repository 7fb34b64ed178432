"""POST /token (RFC 6749 §3.2): authenticate the client, run the grant, answer no-store JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import dpop, tokens
from idp.core.clients import authenticate_client
from idp.http._run import core
from idp.http.client_auth import credentials
from idp.http.forms import read_form
from idp.http.render import json_response


async def token(request: Request) -> Response:
    provider = request.app.state.provider
    params = await read_form(request, provider.settings.max_body_bytes)
    found = credentials(request, params)
    proofs = request.headers.getlist("dpop")

    def run() -> dict[str, object]:
        client = authenticate_client(provider, found)
        jkt = dpop.check_proof(provider, proofs, method="POST", path="/token")
        return tokens.grant(provider, client, params, jkt)

    return json_response(await core(run))
