"""Portal back-ends call the admin API with their own client_credentials token and admin scopes."""

from __future__ import annotations

import pytest

from idp.admin.pages import audit_filter
from idp.core import audit, staff
from idp.core.params import Params
from tests.admin.conftest import act_as, cookie_name
from tests.helpers import CITIZEN, Pkce, add_citizen, add_portal, exchange, login_and_consent


def _backend(provider, *scopes):
    return add_portal(provider, redirect_uris=[], grant_types=["client_credentials"], scopes=list(scopes))


def _token(client, portal, scope=None):
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = client.post("/token", auth=portal.basic, data=data)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_admin_scopes_are_one_per_permission_except_the_four_eyes_desk_and_staff_passkeys():
    assert staff.ADMIN_SCOPES["citizens.read"] == "admin:citizens.read"
    four_eyes = {"verification.record", "verification.decide", "counter.register", "counter.recover", "disputes.record"}
    assert set(staff.ADMIN_SCOPES) == set(staff.PERMISSIONS) - four_eyes - {"staff.passkeys.remove"}


def test_a_token_with_the_read_scope_searches_citizens_and_is_audited_as_the_client(client, provider):
    citizen, _ = add_citizen(provider)
    backend = _backend(provider, "admin:citizens.read")

    found = client.get("/admin/api/citizens", params={"q": CITIZEN.id_number}, headers=_bearer(_token(client, backend)))

    assert found.status_code == 200 and [c["id"] for c in found.json()["citizens"]] == [citizen.id]
    events = audit.search(provider, audit_filter(Params({"action": ["citizen.search"]})), 10)
    assert [e.actor for e in events] == [f"client:{backend.client_id}"]


def test_a_token_writes_without_a_csrf_header_when_its_scope_allows(client, provider):
    citizen, _ = add_citizen(provider)
    backend = _backend(provider, "admin:citizens.lock")

    locked = client.post(
        f"/admin/api/citizens/{citizen.id}/lock", json={"reason": "fraud"}, headers=_bearer(_token(client, backend))
    )

    assert locked.status_code == 200 and locked.json()["citizen"]["status"] == "locked"


def test_a_token_without_the_routes_scope_is_refused_with_insufficient_scope(client, provider):
    backend = _backend(provider, "admin:clients.read")
    token = _token(client, backend)

    refused = client.get("/admin/api/citizens", headers=_bearer(token))
    allowed = client.get("/admin/api/clients", headers=_bearer(token))

    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert 'scope="admin:citizens.read"' in refused.headers["www-authenticate"]
    assert allowed.status_code == 200


def test_a_token_without_any_admin_scope_is_refused_even_on_the_session_route(client, provider):
    backend = _backend(provider, "notices.send")

    refused = client.get("/admin/api/session", headers=_bearer(_token(client, backend)))

    assert refused.status_code == 403


def test_no_scope_lets_a_token_record_or_decide_identity_checks(client, provider):
    citizen, _ = add_citizen(provider)
    backend = _backend(provider, *staff.ADMIN_SCOPES.values())

    refused = client.post(
        f"/admin/api/citizens/{citizen.id}/verifications",
        headers=_bearer(_token(client, backend)),
        json={"document_type": "cccd", "document_number": "001", "data_matches": True},
    )

    assert refused.status_code == 403


def test_a_citizens_access_token_is_not_accepted_by_the_admin_api(client, provider):
    portal = add_portal(
        provider,
        scopes=["openid", "profile", "admin:citizens.read"],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
    )
    citizen, password = add_citizen(provider)
    pkce = Pkce()
    code = login_and_consent(client, portal, citizen.id_number, password, pkce, scope="openid profile")["code"]
    token = exchange(client, portal, code, pkce).json()["access_token"]
    client.cookies.clear()

    refused = client.get("/admin/api/citizens", headers=_bearer(token))

    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


def test_an_expired_service_token_is_refused(client, provider, clock):
    token = _token(client, _backend(provider, "admin:citizens.read"))
    clock.advance(provider.settings.access_token_ttl + provider.settings.clock_leeway + 1)

    refused = client.get("/admin/api/citizens", headers=_bearer(token))

    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer ")


def test_a_revoked_service_token_is_refused(client, provider):
    backend = _backend(provider, "admin:citizens.read")
    token = _token(client, backend)
    assert client.post("/revoke", auth=backend.basic, data={"token": token}).status_code == 200

    refused = client.get("/admin/api/citizens", headers=_bearer(token))

    assert refused.status_code == 401


def test_a_disabled_clients_token_stops_working(client, provider, staff_of):
    backend = _backend(provider, "admin:citizens.read")
    token = _token(client, backend)
    admin = act_as(client, staff_of("admin"))
    assert (
        client.post(f"/admin/api/clients/{backend.client_id}/disable", headers={"X-CSRF-Token": admin.csrf}).status_code
        == 200
    )
    client.cookies.clear()

    refused = client.get("/admin/api/citizens", headers=_bearer(token))

    assert refused.status_code == 401


def test_a_dpop_bound_token_is_refused(client, provider):
    from idp.core.tokens import client_credentials

    backend = _backend(provider, "admin:citizens.read")
    bound = client_credentials(provider, provider.store.clients.get(backend.client_id), {}, dpop_jkt="x" * 43)

    refused = client.get("/admin/api/citizens", headers=_bearer(bound["access_token"]))

    assert refused.status_code == 401


def test_a_staff_cookie_and_a_bearer_token_together_are_refused(client, provider, staff_of):
    token = _token(client, _backend(provider, "admin:citizens.read"))
    act_as(client, staff_of("admin"))

    refused = client.get("/admin/api/citizens", headers=_bearer(token))

    assert refused.status_code == 400


def test_staff_api_writes_still_need_the_csrf_header(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    act_as(client, staff_of("admin"))

    refused = client.post(f"/admin/api/citizens/{citizen.id}/lock", json={"reason": "fraud"})

    assert refused.status_code == 403 and refused.json()["error"] == "csrf"


@pytest.mark.parametrize("path", ["/admin/citizens", "/admin/"])
def test_a_bearer_token_does_not_open_a_console_page(client, provider, path):
    token = _token(client, _backend(provider, *staff.ADMIN_SCOPES.values()))
    assert cookie_name() not in client.cookies

    page = client.get(path, headers=_bearer(token))

    assert page.status_code == 303 and page.headers["location"].endswith("/admin/login")


def test_a_malformed_authorization_header_is_refused(client):
    refused = client.get("/admin/api/citizens", headers={"Authorization": "Basic Zm9vOmJhcg=="})

    assert refused.status_code == 401


def test_the_session_route_tells_a_client_what_its_token_allows(client, provider):
    backend = _backend(provider, "admin:citizens.read", "admin:audit.read")

    me = client.get("/admin/api/session", headers=_bearer(_token(client, backend))).json()

    assert me["client_id"] == backend.client_id and me["permissions"] == ["audit.read", "citizens.read"]
