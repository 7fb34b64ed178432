"""POST /par (RFC 9126 §2): push an authorization request, get a one-time request_uri."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import dpop, par
from idp.core.params import Params
from idp.core.provider import Provider
from idp.http.client_auth import client_call
from idp.http.render import json_response
from idp.store.records import ClientRecord


def _push(provider: Provider, client: ClientRecord, params: Params, proofs: list[str]) -> dict[str, object]:
    jkt = dpop.check_proof(provider, proofs, method="POST", path="/par", client=client)
    return par.push(provider, client, params, jkt)


async def push(request: Request) -> Response:
    return json_response(await client_call(request, _push), 201)
