"""The admin API's OpenAPI 3.1 document, built from the admin route table plus one line per route.

`document(issuer, routes)` walks `idp.admin.ROUTES`: every `/api/...` row becomes an operation whose
security names the row's permission (a staff role, or the `admin:<permission>` scope of a
`client_credentials` token). A route without an entry in `OPERATIONS` is a start-up error, not a
silent gap. The copy in the repository (`docs/admin-openapi.json`) is this document for
`EXAMPLE_ISSUER`; regenerate it with `python -m idp.admin.openapi > docs/admin-openapi.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from idp.core.client_spec import GRANT_TYPES, PROFILES
from idp.core.levels import LEVELS, LOA1
from idp.core.staff import ADMIN_SCOPES, PERMISSIONS, STAFF_ONLY

__all__ = ["EXAMPLE_ISSUER", "OPERATIONS", "document"]

EXAMPLE_ISSUER = "https://id.example.gov.vn"
API_PREFIX = "/api/"
SESSION = "session"  # the route table's word for "any signed-in caller"

Route = tuple[str, str, Callable[..., Any], "str | None"]

_REASON = {"type": "object", "properties": {"reason": {"type": "string", "description": "why, for the audit trail"}}}
_CLIENT_FORM = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "redirect_uris": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "post_logout_redirect_uris": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "backchannel_logout_uri": {"type": "string", "format": "uri"},
        "auth_method": {"type": "string", "default": "client_secret_basic"},
        "scopes": {"type": "array", "items": {"type": "string"}, "default": ["openid", "profile"]},
        "min_level": {"type": "string", "enum": list(LEVELS), "default": LOA1},
        "id_token_alg": {"type": "string", "default": "ES256"},
        "grant_types": {
            "type": "array",
            "items": {"type": "string", "enum": list(GRANT_TYPES)},
            "description": "set at registration only; authorization_code and refresh_token unless given; a "
            "client with client_credentials alone needs no redirect URI, and API scopes need client_credentials",
        },
        "jwks": {
            "type": ["object", "string"],
            "description": "a public JWK Set (or its JSON text), for private_key_jwt; an edit without it keeps "
            "the registered one",
        },
        "jwks_uri": {"type": "string", "format": "uri"},
        "profile": {
            "type": "string",
            "enum": list(PROFILES),
            "default": PROFILES[0],
            "description": "set at registration only; fapi2 (FAPI 2.0 Security Profile) needs private_key_jwt and "
            "an ES256 ID token, and switches PAR and DPoP on",
        },
    },
}
_CHECK: dict[str, Any] = {
    "type": "object",
    "required": ["document_type", "document_number", "full_name", "birth_date", "sex", "data_matches"],
    "properties": {
        "document_type": {"type": "string", "enum": ["cccd", "cmnd", "passport"]},
        "document_number": {"type": "string", "description": "for a CCCD, the citizen ID number itself"},
        "full_name": {"type": "string", "description": "as read on the document"},
        "birth_date": {"type": "string", "format": "date", "description": "as read on the document"},
        "sex": {"type": "string", "enum": ["male", "female"], "description": "as read on the document"},
        "data_matches": {"type": "boolean", "description": "the document is genuine and shows the person present"},
        "note": {"type": "string"},
    },
}
_CARD = {
    k: v for k, v in _CHECK["properties"].items() if k in ("document_type", "document_number", "data_matches", "note")
}
_COUNTER_REGISTRATION: dict[str, Any] = {
    "type": "object",
    "required": [
        "citizen_id",
        "full_name",
        "birth_date",
        "sex",
        "phone",
        "document_type",
        "document_number",
        "data_matches",
    ],
    "properties": {
        "citizen_id": {"type": "string", "description": "the 12-digit citizen ID number on the card"},
        "full_name": {"type": "string", "description": "as read on the card"},
        "birth_date": {"type": "string", "format": "date", "description": "as read on the card"},
        "sex": {"type": "string", "enum": ["male", "female"], "description": "as read on the card"},
        "phone": {"type": "string", "description": "the citizen's phone: the SMS link to set a password goes there"},
        "email": {"type": "string"},
        **_CARD,
    },
}
_RECOVERY = {
    "type": "object",
    "required": [*_CHECK["required"], "phone"],
    "properties": {
        **_CHECK["properties"],
        "phone": {"type": "string", "description": "the phone to bind (the same number on a new SIM is fine)"},
    },
}
_DISPUTE = {
    "type": "object",
    "required": [
        "citizen_id",
        "full_name",
        "birth_date",
        "sex",
        "document_type",
        "document_number",
        "data_matches",
        "note",
    ],
    "properties": {
        **_COUNTER_REGISTRATION["properties"],
        "citizen_id": {"type": "string", "description": "the disputed number, held by another account"},
        "note": {"type": "string", "description": "why: what the citizen showed and said (required, audited)"},
        "owner": {
            "type": "string",
            "description": "the owner's existing account to re-bind; else phone (and email) make a new account",
        },
        "phone": {"type": "string", "description": "without `owner`: the new account's phone"},
    },
}
_PAGE = [
    {
        "name": "q",
        "in": "query",
        "schema": {"type": "string"},
        "description": "citizen id number, phone or name (diacritics optional)",
    },
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
]
_AUDIT = (
    [{"name": n, "in": "query", "schema": {"type": "string"}} for n in ("action", "actor", "subject", "outcome")]
    + [
        {"name": n, "in": "query", "schema": {"type": "integer"}, "description": "epoch seconds"}
        for n in ("since", "until")
    ]
    + [{"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}]
)


@dataclass(frozen=True)
class Operation:
    summary: str
    body: dict[str, Any] | None = None
    query: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


# (method, path) → what the route table cannot say: a summary and the shape of the input.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/session"): Operation("Who is calling: the staff member (with the CSRF token) or the service client"),
    ("GET", "/api/openapi.json"): Operation("This document"),
    ("GET", "/api/citizens"): Operation("Search citizens, 20 a page", query=_PAGE),
    ("GET", "/api/citizens/{citizen_pk}"): Operation("A citizen: record, factors, sessions, portals, checks, activity"),
    ("POST", "/api/citizens/{citizen_pk}/lock"): Operation("Lock the account and end its sessions", _REASON),
    ("POST", "/api/citizens/{citizen_pk}/unlock"): Operation("Unlock the account", _REASON),
    ("POST", "/api/citizens/{citizen_pk}/reset-authenticator"): Operation(
        "Remove the TOTP factor and recovery codes", _REASON
    ),
    ("POST", "/api/citizens/{citizen_pk}/end-sessions"): Operation("End every session of the citizen"),
    ("POST", "/api/citizens/{citizen_pk}/verifications"): Operation(
        "Record an in-person identity check", _CHECK, status=201
    ),
    ("GET", "/api/verifications"): Operation("Identity checks waiting for a decision"),
    ("POST", "/api/counter/registrations"): Operation(
        "Register a citizen at the counter (the citizen sets the password by SMS link; a supervisor verifies)",
        _COUNTER_REGISTRATION,
        status=201,
    ),
    ("POST", "/api/citizens/{citizen_pk}/recoveries"): Operation(
        "Record a recovery at the counter: new phone, factors reset once a supervisor approves", _RECOVERY, status=201
    ),
    ("POST", "/api/disputes"): Operation(
        "Record a dispute: the card proves a number another account holds; a supervisor's approval freezes the "
        "holder and gives the owner a verified account",
        _DISPUTE,
        status=201,
    ),
    ("POST", "/api/verifications/{request_id}/approve"): Operation(
        "Approve a check recorded by someone else (a reason is required when the document differs from the account)",
        _REASON,
    ),
    ("POST", "/api/verifications/{request_id}/reject"): Operation("Reject a check", _REASON),
    ("GET", "/api/clients"): Operation("Registered portals"),
    ("POST", "/api/clients"): Operation("Register a portal (the secret is shown once)", _CLIENT_FORM, status=201),
    ("GET", "/api/clients/{client_id}"): Operation("A portal's registration"),
    ("POST", "/api/clients/{client_id}"): Operation("Edit a portal's registration", _CLIENT_FORM),
    ("POST", "/api/clients/{client_id}/disable"): Operation(
        "Disable (or, with disabled=false, re-enable) a portal",
        {"type": "object", "properties": {"disabled": {"type": "boolean", "default": True}}},
    ),
    ("POST", "/api/clients/{client_id}/rotate-secret"): Operation("A new client secret (shown once)"),
    ("GET", "/api/keys"): Operation("Signing keys and their state"),
    ("POST", "/api/keys/rotate"): Operation("Rotate the signing keys"),
    ("GET", "/api/audit"): Operation("Audit events, newest first, 100 a page", query=_AUDIT),
    ("GET", "/api/audit/verify"): Operation("Check the audit trail's hash chain"),
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _security(method: str, permission: str | None) -> list[dict[str, list[str]]]:
    staff: dict[str, list[str]] = {"staffSession": [], "csrfHeader": []} if method in _WRITES else {"staffSession": []}
    if permission is None:
        return [staff, {"adminToken": []}]
    if permission in STAFF_ONLY:
        return [staff]
    return [staff, {"adminToken": [ADMIN_SCOPES[permission]]}]


def _operation(method: str, path: str, permission: str | None) -> dict[str, Any]:
    spec = OPERATIONS.get((method, path))
    if spec is None:
        raise LookupError(f"no OpenAPI entry for {method} {path}: add it to idp.admin.openapi.OPERATIONS")
    who = (
        "any staff session or a token with any admin scope"
        if permission is None
        else (
            f"permission `{permission}`: roles {', '.join(sorted(PERMISSIONS[permission]))}"
            + ("; staff only" if permission in STAFF_ONLY else f"; or scope `{ADMIN_SCOPES[permission]}`")
        )
    )
    out: dict[str, Any] = {
        "operationId": method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", path[len(API_PREFIX) - 1 :]).rstrip("_"),
        "summary": spec.summary,
        "description": f"Needs {who}.",
        "x-permission": permission,
        "security": _security(method, permission),
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{([^}]+)}", path)
    ] + spec.query
    if params:
        out["parameters"] = params
    if spec.body is not None:
        out["requestBody"] = {"required": False, "content": {"application/json": {"schema": spec.body}}}
    out["responses"] = {
        str(spec.status): {"description": "done", "content": {"application/json": {"schema": {"type": "object"}}}},
        **{
            str(code): {"$ref": f"#/components/responses/{name}"}
            for code, name in ((400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden"))
        },
    }
    if re.search(r"{[^}]+}", path):
        out["responses"]["404"] = {"$ref": "#/components/responses/NotFound"}
    return out


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document(issuer: str, routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every `/api/...` row of the route table."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, _, column in routes:
        if path.startswith(API_PREFIX):
            permission = None if column == SESSION else column
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, permission)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Admin API",
            "version": "1",
            "description": "The staff console's actions for scripts. Authenticate with a staff session "
            "(cookie, plus the X-CSRF-Token header on writes; GET /api/session returns the token) "
            "or with an access token from this provider's client_credentials grant carrying "
            "`admin:<permission>` scopes (Authorization: Bearer; no CSRF header; never both "
            "at once; DPoP-bound tokens are refused). Identity-check recording and decisions "
            "need a staff member.",
        },
        "servers": [{"url": issuer.rstrip("/") + "/admin"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "staffSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "__Host-idp_staff",
                    "description": "The console's session cookie (`idp_staff` when the provider "
                    "runs without secure cookies, in development).",
                },
                "csrfHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": "The session's CSRF token (`csrf_token` of GET /api/session); "
                    "required on every write made with a staff session.",
                },
                "adminToken": {
                    "type": "oauth2",
                    "description": "An access token of the provider's client_credentials grant, "
                    "for a client registered with admin scopes.",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": issuer.rstrip("/") + "/token",
                            "scopes": {
                                scope: f"the `{permission}` permission" for permission, scope in ADMIN_SCOPES.items()
                            },
                        }
                    },
                },
            },
            "schemas": {"Error": _ERROR},
            "responses": {
                "BadRequest": _error("malformed request, or both a staff cookie and a bearer token"),
                "Unauthorized": _error("no staff session, or the access token is invalid, expired or revoked"),
                "Forbidden": _error("the role or the token's scope does not allow this, or CSRF failed"),
                "NotFound": _error("no such record"),
            },
        },
    }


def render(doc: dict[str, Any]) -> str:
    """The committed file's exact text."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from idp.admin import ROUTES

    print(render(document(EXAMPLE_ISSUER, ROUTES)), end="")
