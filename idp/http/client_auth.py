"""Finding the client's credentials on a back-channel request (RFC 6749 §2.3.1).

Exactly one method per request: HTTP Basic with form-urlencoded id and secret, the secret
in the body, or a bare `client_id` for public clients.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import unquote_plus

from starlette.requests import Request

from idp.core.clients import ClientCredentials, authenticate_cached_client, authenticate_client
from idp.core.params import Params
from idp.core.provider import Provider
from idp.crypto.assertions import unverified_issuer
from idp.errors import InvalidClient, InvalidRequest
from idp.http.forms import read_form
from idp.http.offload import core, unit
from idp.store.records import ClientRecord

T = TypeVar("T")


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def credentials(request: Request, params: Params) -> ClientCredentials:
    header = request.headers.get("authorization")
    body_id, body_secret = params.one("client_id"), params.one("client_secret")
    assertion_type, assertion = params.one("client_assertion_type"), params.one("client_assertion")
    if assertion_type is not None or assertion is not None:
        if (header is not None and header.partition(" ")[0].lower() == "basic") or body_secret is not None:
            raise InvalidRequest("use exactly one client authentication method")
        if assertion_type != JWT_BEARER or not assertion:
            raise InvalidClient("client_assertion_type must be jwt-bearer with a client_assertion")
        client_id = body_id or unverified_issuer(assertion)
        return ClientCredentials(client_id, None, "private_key_jwt", assertion)
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise InvalidClient("unsupported client authentication scheme")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient("malformed Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidClient("malformed Basic credentials")
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if body_secret is not None:
            raise InvalidRequest("use exactly one client authentication method")
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("client_id in the body differs from the authenticated client")
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, "client_secret_post")
    return ClientCredentials(body_id, None, "none")


async def client_call(
    request: Request,
    action: Callable[[Provider, ClientRecord, Params, list[str]], T],
    without_database: Callable[[Params, list[str]], bool] | None = None,
    *,
    local: bool = False,
) -> T:
    """A back-channel endpoint (token, PAR, revocation, introspection): read the form, find the
    client's credentials, then authenticate the client and run `action`, `action` in one
    database transaction (`Store.unit_of_work`). The client is always proven
    first (RFC 7009 §2.1, RFC 7662 §2.1), before the unit opens: proving a `private_key_jwt`
    client may fetch its JWKS from the portal, and a slow portal must not hold a database
    connection meanwhile. `action` also gets the request's DPoP proofs.

    `without_database` says when `action` needs no database for these parameters (the
    client_credentials grant). Then a client proven by its secret from this process's fresh
    cache has the whole request run on the event loop, in a read-only unit so a write added
    there later fails in the tests: the thread hop cost more than the rest of such a request's
    own work. A cache miss or any other grant goes on as below.

    `local` says `action` waits on nothing but the database (no portal's JWKS, no hash): then a
    client proven by its secret (or a public one) has the whole call, its proof included, run by
    `offload.unit`, on the event loop on either database: a secret's check waits on nothing. An
    assertion may fetch the portal's JWKS, so it is proven first and keeps the worker thread, as
    does every call without `local` (PAR)."""
    provider = request.app.state.provider
    params = await read_form(request, provider.settings.max_body_bytes)
    found = credentials(request, params)
    proofs = request.headers.getlist("dpop")
    if without_database is not None and without_database(params, proofs):
        cached = authenticate_cached_client(provider, found)
        if cached is not None:
            with provider.store.db.read_only_unit():
                return action(provider, cached, params, proofs)

    def proven() -> T:
        return action(provider, authenticate_client(provider, found), params, proofs)

    if local and found.method != "private_key_jwt":
        return await unit(provider, proven)

    def run() -> T:
        client = authenticate_client(provider, found)
        with provider.store.unit_of_work():
            return action(provider, client, params, proofs)

    return await core(run)
