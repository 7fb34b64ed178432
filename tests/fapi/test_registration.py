"""Registering a FAPI 2.0 portal: `idp clients add --profile fapi2`, the console and the admin API
go through one rule set (`client_spec.validate`), which switches PAR and DPoP on and refuses what
the profile forbids."""

from __future__ import annotations

import json

import pytest

from idp.core.client_spec import ClientSpec, validate
from idp.errors import ValidationError
from idp.i18n import refusal
from tests.admin.conftest import act_as, staff_of  # noqa: F401  (the staff fixture)
from tests.cli.test_cli import env, idp  # noqa: F401  (the CLI's environment fixture and runner)
from tests.fapi.conftest import ClientKey

REDIRECT = "https://bank.example/cb"
JWKS = {"keys": [ClientKey("ES256").public_jwk]}


def _spec(**changes) -> ClientSpec:
    fields = {"name": "Ngân hàng", "redirect_uris": (REDIRECT,), "auth_method": "private_key_jwt", "jwks": JWKS}
    return ClientSpec(**(fields | {"profile": "fapi2"} | changes))


def test_a_fapi2_portal_gets_par_and_dpop_whatever_it_asked_for():
    saved = validate(_spec(require_par=False, require_dpop=False))

    assert saved.profile == "fapi2" and saved.require_par and saved.require_dpop


@pytest.mark.parametrize(
    "changes, field",
    [
        (
            {"auth_method": "client_secret_basic", "jwks": None},
            "auth_method",
        ),  # §5.3.2.1: private_key_jwt (or mTLS, not offered)
        ({"auth_method": "none", "jwks": None}, "auth_method"),
        ({"id_token_alg": "RS256"}, "id_token_alg"),  # §5.4.1
    ],
)
def test_a_fapi2_portal_with_a_secret_or_rs256_id_tokens_is_refused(changes, field):
    with pytest.raises(ValidationError) as refused:
        validate(_spec(**changes))

    assert (refused.value.field, refused.value.code) == (field, "fapi2")
    assert validate(_spec(**changes, profile="standard")).profile == "standard"


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValidationError) as refused:
        validate(_spec(profile="fapi1"))

    assert (refused.value.field, refused.value.code) == ("profile", "choice")


def test_idp_clients_add_registers_a_fapi2_portal(env, tmp_path):  # noqa: F811
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(JWKS), encoding="utf-8")
    idp(env, "init")
    args = [
        "clients",
        "add",
        "--name",
        "Bank",
        "--redirect-uri",
        REDIRECT,
        "--jwks-file",
        str(keys),
        "--profile",
        "fapi2",
    ]

    refused = idp(env, *args)
    made = idp(env, *args, "--auth-method", "private_key_jwt")

    assert refused.returncode == 2 and refusal("en", "auth_method", "fapi2", {}) in refused.stderr
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["profile"] == "fapi2" and "client_secret" not in json.loads(made.stdout)


def test_the_admin_api_and_the_console_register_a_fapi2_portal(client, provider, staff_of):  # noqa: F811
    member = act_as(client, staff_of("admin"))
    body = {"name": "Bank", "redirect_uris": [REDIRECT], "auth_method": "private_key_jwt", "jwks": JWKS}

    api = client.post("/admin/api/clients", json=body | {"profile": "fapi2"}, headers={"X-CSRF-Token": member.csrf})
    page = client.post(
        "/admin/clients",
        data={
            **body,
            "jwks": json.dumps(JWKS),
            "profile": "fapi2",
            "name": "Bank by console",
            "csrf_token": member.csrf,
        },
    )

    registered = {c.name: c for c in provider.store.client_directory.list()}
    assert api.status_code == 201 and api.json()["client"]["profile"] == "fapi2"
    assert api.json()["client"]["require_par"] and api.json()["client"]["require_dpop"]
    assert page.status_code == 303  # post/redirect/get: the console registered it and moved on
    assert registered["Bank by console"].profile == "fapi2" and registered["Bank by console"].require_dpop


def test_an_edit_cannot_give_a_fapi2_portal_rs256_id_tokens_or_drop_the_profile(client, provider, staff_of):  # noqa: F811
    member = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": member.csrf}
    body = {"name": "Bank", "redirect_uris": [REDIRECT], "auth_method": "private_key_jwt", "jwks": JWKS}
    created = client.post("/admin/api/clients", json=body | {"profile": "fapi2"}, headers=headers).json()["client"]

    rs256 = client.post(
        f"/admin/api/clients/{created['client_id']}", json=body | {"id_token_alg": "RS256"}, headers=headers
    )
    renamed = client.post(
        f"/admin/api/clients/{created['client_id']}",
        json=body | {"name": "Bank 2", "profile": "standard"},
        headers=headers,
    )

    assert rs256.status_code == 400 and rs256.json()["error_description"] == "id_token_alg: fapi2"
    assert renamed.status_code == 200 and renamed.json()["client"]["profile"] == "fapi2"
    assert provider.store.clients.get(created["client_id"]).require_par
