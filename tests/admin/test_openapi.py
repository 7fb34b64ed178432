"""The admin API's OpenAPI document: built from the route table, served, and committed.

Regenerate the committed copy: `.venv/bin/python -m idp.admin.openapi > docs/admin-openapi.json`
"""

from __future__ import annotations

import json
from pathlib import Path

from idp.admin import ROUTES
from idp.admin.openapi import EXAMPLE_ISSUER, render
from idp.core import staff
from tests.admin.conftest import act_as
from tests.helpers import add_portal

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "admin-openapi.json"


def _served(client, provider, staff_of):
    act_as(client, staff_of("auditor"))
    response = client.get("/admin/api/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    return response.json()


def test_the_document_lists_every_api_route_of_the_route_table(client, provider, staff_of):
    doc = _served(client, provider, staff_of)

    listed = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert doc["openapi"].startswith("3.1")
    assert listed == {(m, p) for m, p, _, _ in ROUTES if p.startswith("/api/")}


def test_each_operation_names_the_permission_the_guard_enforces(client, provider, staff_of):
    doc = _served(client, provider, staff_of)

    for method, path, handler, column in ROUTES:
        if path.startswith("/api/"):
            op = doc["paths"][path][method.lower()]
            enforced = handler.permission
            assert enforced == (None if column == "session" else column), (method, path)
            assert op["x-permission"] == enforced
            scopes = [s for req in op["security"] for name, s in req.items() if name == "adminToken"]
            if enforced in staff.ADMIN_SCOPES:
                assert scopes == [[staff.ADMIN_SCOPES[enforced]]]


def test_both_security_schemes_are_declared_with_the_token_url_and_admin_scopes(client, provider, staff_of):
    schemes = _served(client, provider, staff_of)["components"]["securitySchemes"]

    assert schemes["staffSession"]["in"] == "cookie" and schemes["csrfHeader"]["name"] == "X-CSRF-Token"
    flow = schemes["adminToken"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == provider.issuer + "/token"
    assert set(flow["scopes"]) == set(staff.ADMIN_SCOPES.values())


def test_the_served_document_equals_the_committed_file(client, provider, staff_of):
    served = _served(client, provider, staff_of)

    as_committed = json.loads(json.dumps(served).replace(provider.issuer, EXAMPLE_ISSUER))
    assert COMMITTED.read_text(encoding="utf-8") == render(as_committed)


def test_the_document_needs_a_staff_session_or_an_admin_scoped_token(client, provider):
    backend = add_portal(provider, redirect_uris=[], grant_types=["client_credentials"], scopes=["admin:keys.read"])
    token = client.post("/token", auth=backend.basic, data={"grant_type": "client_credentials"}).json()["access_token"]

    anonymous = client.get("/admin/api/openapi.json")
    with_token = client.get("/admin/api/openapi.json", headers={"Authorization": f"Bearer {token}"})

    assert anonymous.status_code == 401 and with_token.status_code == 200
