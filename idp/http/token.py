"""POST /token (RFC 6749 §3.2): authenticate the client, run the grant, answer no-store JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import dpop, tokens
from idp.core.params import Params
from idp.core.provider import Provider
from idp.http.client_auth import client_call
from idp.http.render import json_response
from idp.store.records import ClientRecord


def _grant(provider: Provider, client: ClientRecord, params: Params, proofs: list[str]) -> dict[str, object]:
    jkt = dpop.check_proof(provider, proofs, method="POST", path="/token", client=client)
    return tokens.grant(provider, client, params, jkt)


def _without_database(params: Params, proofs: list[str]) -> bool:
    """client_credentials signs one token and stores nothing; a DPoP proof's `jti` is recorded."""
    return not proofs and params.all("grant_type") == ["client_credentials"]


async def token(request: Request) -> Response:
    return json_response(await client_call(request, _grant, _without_database, local=True))
