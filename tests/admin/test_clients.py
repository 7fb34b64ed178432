"""Portal clients from the console, the admin API and the CLI: one specification, so one answer."""

from __future__ import annotations

import html
import json
import re

import pytest

from idp.i18n import refusal
from tests.admin.conftest import act_as
from tests.cli.test_cli import env, idp  # noqa: F401  (the CLI's environment fixture and runner)

REDIRECT = "https://portal.example/cb"
PUBLIC_JWK = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36H"}
# Each bad input, as the console form, the API body and the CLI's arguments carry it, and the
# field and rule all three must name.
BAD = {
    "an API scope without client_credentials": (
        {"scopes": "openid admin:citizens.read"},
        {"scopes": ["openid", "admin:citizens.read"]},
        ["--scope", "openid", "admin:citizens.read"],
        ("scope", "choice"),
    ),
    "a symmetric key in the JWKS": (
        {"auth_method": "private_key_jwt", "jwks": json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})},
        {"auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
        ["--auth-method", "private_key_jwt", "--jwks-file", "{keys}"],
        ("jwks", "jwks"),
    ),
    "a private EC key in the JWKS": (
        {"auth_method": "private_key_jwt", "jwks": json.dumps({"keys": [{**PUBLIC_JWK, "d": "secret"}]})},
        {"auth_method": "private_key_jwt", "jwks": json.dumps({"keys": [{**PUBLIC_JWK, "d": "secret"}]})},
        ["--auth-method", "private_key_jwt", "--jwks-file", "{keys}"],
        ("jwks", "jwks"),
    ),
    "JWKS text that is not JSON": (
        {"auth_method": "private_key_jwt", "jwks": "{not json"},
        {"auth_method": "private_key_jwt", "jwks": "{not json"},
        ["--auth-method", "private_key_jwt", "--jwks-file", "{keys}"],
        ("jwks", "jwks"),
    ),
    "a back-channel logout URI at an internal address (SSRF)": (
        {"backchannel_logout_uri": "https://169.254.169.254/latest/meta-data"},
        {"backchannel_logout_uri": "https://169.254.169.254/latest/meta-data"},
        ["--backchannel-logout-uri", "https://169.254.169.254/latest/meta-data"],
        ("backchannel_logout_uri", "internal_address"),
    ),
    "the FAPI 2.0 profile with a client secret": (
        {"profile": "fapi2"},
        {"profile": "fapi2"},
        ["--profile", "fapi2"],
        ("auth_method", "fapi2"),
    ),
    "a JWKS URI on loopback (SSRF)": (
        {"auth_method": "private_key_jwt", "jwks_uri": "http://127.0.0.1:9464/metrics"},
        {"auth_method": "private_key_jwt", "jwks_uri": "http://127.0.0.1:9464/metrics"},
        ["--auth-method", "private_key_jwt", "--jwks-uri", "http://127.0.0.1:9464/metrics"],
        ("jwks_uri", "internal_address"),
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_the_console_and_the_api_refuse_a_bad_client_naming_the_same_field_and_rule(client, provider, staff_of, case):
    form, body, _, (field, code) = BAD[case]
    member = act_as(client, staff_of("admin"))

    page = client.post(
        "/admin/clients", data={"name": "Portal", "redirect_uris": REDIRECT, "csrf_token": member.csrf, **form}
    )
    api = client.post(
        "/admin/api/clients",
        json={"name": "Portal", "redirect_uris": [REDIRECT], **body},
        headers={"X-CSRF-Token": member.csrf},
    )

    assert page.status_code == 400 and refusal("vi", field, code, {}) in html.unescape(page.text)
    assert api.status_code == 400 and api.json()["error_description"] == f"{field}: {code}"
    assert provider.store.client_directory.list() == []


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_the_cli_refuses_the_same_bad_client_naming_the_same_field_and_rule(env, tmp_path, case):  # noqa: F811
    form, _, args, (field, code) = BAD[case]
    keys = tmp_path / "keys.json"
    keys.write_text(form.get("jwks", ""), encoding="utf-8")
    idp(env, "init")

    refused = idp(
        env, "clients", "add", "--name", "Portal", "--redirect-uri", REDIRECT, *[a.format(keys=keys) for a in args]
    )

    assert refused.returncode == 2 and refusal("en", field, code, {}) in refused.stderr


def test_an_api_scope_is_allowed_on_a_client_with_the_client_credentials_grant(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))

    created = client.post(
        "/admin/api/clients",
        json={
            "name": "Portal and back-end",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes": ["openid", "admin:citizens.read"],
        },
        headers={"X-CSRF-Token": member.csrf},
    )

    assert created.status_code == 201 and "admin:citizens.read" in created.json()["client"]["scopes"]


def test_the_console_registers_a_client_credentials_back_end_without_redirect_uris(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))

    page = client.post(
        "/admin/clients",
        data={
            "name": "Back-end",
            "grant_types": "client_credentials",
            "scopes": "admin:keys.read",
            "csrf_token": member.csrf,
        },
    )
    (registered,) = provider.store.client_directory.list()
    shown = client.get(page.headers["location"])
    token = client.post(
        "/token", auth=(registered.id, _secret_in(shown.text)), data={"grant_type": "client_credentials"}
    )

    assert page.status_code == 303 and registered.grant_types == frozenset({"client_credentials"})
    assert registered.redirect_uris == () and token.json()["scope"] == "admin:keys.read"


def test_the_api_registers_a_client_credentials_back_end_but_not_one_asking_for_no_grant(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": member.csrf}

    backend = client.post(
        "/admin/api/clients",
        json={"name": "Back-end", "grant_types": ["client_credentials"], "scopes": ["notices.send"]},
        headers=headers,
    )
    portal = client.post("/admin/api/clients", json={"name": "Portal"}, headers=headers)

    assert backend.status_code == 201 and backend.json()["client"]["redirect_uris"] == []
    assert portal.status_code == 400 and portal.json()["error_description"] == "redirect_uri: required"


def test_saving_the_console_edit_form_keeps_a_private_key_jwt_clients_registered_keys(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    jwks = {"keys": [PUBLIC_JWK]}
    created = client.post(
        "/admin/api/clients",
        json={"name": "Keyed", "redirect_uris": [REDIRECT], "auth_method": "private_key_jwt", "jwks": json.dumps(jwks)},
        headers={"X-CSRF-Token": member.csrf},
    ).json()["client"]

    saved = client.post(  # the fields client.html's edit form sends: it has no JWKS field
        f"/admin/clients/{created['client_id']}",
        data={
            "name": "Keyed, renamed",
            "redirect_uris": REDIRECT,
            "post_logout_redirect_uris": "",
            "backchannel_logout_uri": "",
            "scopes": "openid profile",
            "min_level": "LoA1",
            "id_token_alg": "ES256",
            "jwks_uri": "",
            "csrf_token": member.csrf,
        },
    )

    after = provider.store.clients.get(created["client_id"])
    assert saved.status_code == 303 and after.name == "Keyed, renamed" and after.jwks == jwks


def test_an_edit_that_would_leave_a_private_key_jwt_client_without_keys_is_refused(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": member.csrf}
    keyed = {"name": "Keyed", "redirect_uris": [REDIRECT], "auth_method": "private_key_jwt"}
    created = client.post(
        "/admin/api/clients", json={**keyed, "jwks_uri": "https://portal.example/jwks"}, headers=headers
    ).json()["client"]

    refused = client.post(f"/admin/api/clients/{created['client_id']}", json=keyed, headers=headers)

    assert refused.status_code == 400 and refused.json()["error_description"] == "jwks: required"
    assert provider.store.clients.get(created["client_id"]).jwks_uri == "https://portal.example/jwks"


def test_editing_an_api_scope_onto_a_login_portal_is_refused_as_at_registration(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": member.csrf}
    portal = {"name": "Portal", "redirect_uris": [REDIRECT]}
    created = client.post("/admin/api/clients", json=portal, headers=headers).json()["client"]

    refused = client.post(
        f"/admin/api/clients/{created['client_id']}",
        json={**portal, "scopes": ["openid", "admin:citizens.read"]},
        headers=headers,
    )

    assert refused.status_code == 400 and refused.json()["error_description"] == "scope: choice"


def test_staff_cannot_give_a_client_an_admin_scope_of_a_permission_they_lack(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    backend = {"name": "Back-end", "grant_types": ["client_credentials"]}
    headers = {"X-CSRF-Token": member.csrf}

    refused = client.post(
        "/admin/api/clients", json={**backend, "scopes": ["admin:verification.read"]}, headers=headers
    )
    allowed = client.post("/admin/api/clients", json={**backend, "scopes": ["admin:citizens.read"]}, headers=headers)

    assert refused.status_code == 403 and allowed.status_code == 201
    assert [c.scopes for c in provider.store.client_directory.list()] == [frozenset({"admin:citizens.read"})]


def _secret_in(html: str) -> str:
    match = re.search(r'id="client-secret">([^<]+)<', html)
    assert match, html
    return match.group(1)
