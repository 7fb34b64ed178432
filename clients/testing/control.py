"""The standalone mock's control API (`/mock/...`, JSON): what a Python test does with method calls,
a portal written in another language does over HTTP. Off unless `control_api=True` (the standalone
server turns it on): it is a test tool, and anyone who can reach it can log in as anyone.

    GET  /mock/citizens                      the test citizens
    POST /mock/citizens    {"sub", "name", "acr", "amr", "citizen_id", ...}
    POST /mock/clients     {"client_id", "redirect_uris", "client_secret", "scopes", "require_par", ...}
    POST /mock/login-as    {"sub": "citizen-lan", "method": "passkey"}   (null: show the chooser page;
                           method optional: passkey | synced_passkey | password_and_passkey)
    POST /mock/fail-next   {"error": "access_denied"} | {"status": 503, "endpoint": "/token"}
    POST /mock/delay-next  {"seconds": 2.5, "endpoint": "/token"}
    POST /mock/logout      {"sub": "citizen-lan"}      back-channel logout; answers what each portal said
    POST /mock/rotate-key                              {"activated": kid | null, "published": kid}
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from .citizens import Citizen
from .messages import MockRequest, MockResponse

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["handle_control"]

_CLIENT_FIELDS = frozenset(
    {
        "client_id",
        "redirect_uris",
        "client_secret",
        "auth_method",
        "jwks",
        "post_logout_redirect_uris",
        "backchannel_logout_uri",
        "scopes",
        "require_par",
        "require_dpop",
    }
)
_CITIZEN_FIELDS = frozenset(field.name for field in dataclasses.fields(Citizen))


class _BadRequest(Exception):
    pass


def handle_control(provider: MockProvider, path: str, request: MockRequest) -> MockResponse:
    try:
        body = _json_body(request)
        if path == "/mock/citizens" and request.method == "GET":
            return MockResponse.json({"citizens": [_citizen_json(c) for c in provider.citizens.values()]})
        if request.method != "POST":
            return MockResponse.json({"error": "invalid_request", "error_description": "use POST"}, 405)
        if path == "/mock/citizens":
            citizen = Citizen(**_only(body, _CITIZEN_FIELDS, required=("sub", "name")))
            provider.add_citizen(dataclasses.replace(citizen, amr=tuple(citizen.amr)))
            return MockResponse.json(_citizen_json(citizen), 201)
        if path == "/mock/clients":
            fields = _only(body, _CLIENT_FIELDS, required=("client_id", "redirect_uris"))
            client = provider.register_client(fields.pop("client_id"), **fields)
            return MockResponse.json({"client_id": client.client_id, "auth_method": client.auth_method}, 201)
        if path == "/mock/login-as":
            fields = _only(body, frozenset({"sub", "method"}))
            provider.login_as(fields.get("sub"), method=fields.get("method"))
            return MockResponse.json({"login_as": fields.get("sub"), "method": fields.get("method")})
        if path == "/mock/fail-next":
            fields = _only(body, frozenset({"error", "status", "endpoint", "description"}))
            provider.fail_next(fields.pop("error", None), **fields)
            return MockResponse.json({"queued": True})
        if path == "/mock/delay-next":
            fields = _only(body, frozenset({"seconds", "endpoint"}), required=("seconds",))
            provider.delay_next(float(fields["seconds"]), endpoint=fields.get("endpoint"))
            return MockResponse.json({"queued": True})
        if path == "/mock/logout":
            deliveries = provider.logout(str(_only(body, frozenset({"sub"}), required=("sub",))["sub"]))
            return MockResponse.json(
                {
                    "deliveries": [
                        {"client_id": d.client_id, "uri": d.uri, "status": d.status, "error": d.error}
                        for d in deliveries
                    ]
                }
            )
        if path == "/mock/rotate-key":
            rotation = provider.rotate_key()
            return MockResponse.json({"activated": rotation.activated, "published": rotation.published})
    except (_BadRequest, KeyError, TypeError, ValueError) as exc:
        return MockResponse.json({"error": "invalid_request", "error_description": str(exc)}, 400)
    return MockResponse.json({"error": "not_found"}, 404)


def _json_body(request: MockRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        value = json.loads(request.body)
    except ValueError:
        raise _BadRequest("the body must be JSON") from None
    if not isinstance(value, dict):
        raise _BadRequest("the body must be a JSON object")
    return value


def _only(body: dict[str, Any], allowed: frozenset[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if unknown := sorted(set(body) - allowed):
        raise _BadRequest(f"unknown field {unknown[0]}")
    if missing := [name for name in required if name not in body]:
        raise _BadRequest(f"{missing[0]} is required")
    return dict(body)


def _citizen_json(citizen: Citizen) -> dict[str, Any]:
    value = dataclasses.asdict(citizen)
    value["amr"] = list(citizen.amr)
    value["extra_claims"] = dict(citizen.extra_claims)
    return value
