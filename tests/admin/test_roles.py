"""Every console page and admin API route, tried by every role: the guard allows exactly the roles
the permission table names, and nothing without a session."""

from __future__ import annotations

import pytest

from idp.admin import ROUTES
from idp.core.staff import PERMISSIONS, ROLES
from tests.admin.conftest import act_as

GUARDED = [(method, path, permission) for method, path, _, permission in ROUTES if permission not in (None, "session")]


def _call(client, member, method, path):
    url = "/admin" + path.replace("{citizen_pk}", "no-such-citizen").replace("{request_id}", "no-such-request").replace(
        "{client_id}", "no-such-client"
    )
    if method == "GET":
        return client.get(url)
    if path.startswith("/api/"):
        return client.post(url, json={}, headers={"X-CSRF-Token": member.csrf})
    return client.post(url, data={"csrf_token": member.csrf})


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_its_permissions_allow(client, staff_of, role):
    member = act_as(client, staff_of(role))

    wrong = []
    for method, path, permission in GUARDED:
        status = _call(client, member, method, path).status_code
        allowed = role in PERMISSIONS[permission]
        if allowed == (status == 403):
            wrong.append((method, path, status))

    assert wrong == []


def test_the_permission_table_keeps_the_duties_apart():
    assert PERMISSIONS["verification.record"] == {"clerk"}
    assert PERMISSIONS["verification.decide"] == {"supervisor"}
    assert "admin" not in PERMISSIONS["verification.decide"]
    assert all(p.endswith(".read") for p, roles in PERMISSIONS.items() if "auditor" in roles)


def test_without_a_session_pages_send_to_the_login_and_the_api_answers_401(client):
    for method, path, _ in GUARDED:
        url = "/admin" + path.replace("{citizen_pk}", "x").replace("{request_id}", "x").replace("{client_id}", "x")
        response = client.get(url) if method == "GET" else client.post(url, data={})
        if path.startswith("/api/"):
            assert response.status_code == 401, path
        else:
            assert response.status_code == 303 and response.headers["location"] == "/admin/login", path


def test_every_route_in_the_table_names_a_known_permission():
    assert {p for _, _, p in GUARDED} <= set(PERMISSIONS)
