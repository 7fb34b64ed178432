"""The one client specification's rules, without a database or HTTP."""

from __future__ import annotations

import pytest

from idp.core.client_spec import ClientSpec, parse_jwks, validate
from idp.core.scopes import DEFAULT_CLIENT_SCOPES
from idp.errors import ValidationError

REDIRECT = "https://portal.example/cb"


def _refusal(spec: ClientSpec) -> tuple[str, str]:
    with pytest.raises(ValidationError) as refused:
        validate(spec)
    return refused.value.field, refused.value.code


def test_a_valid_spec_comes_back_trimmed_with_the_default_scopes_and_grants():
    spec = validate(ClientSpec(name="  Portal ", redirect_uris=[REDIRECT]))

    assert spec.name == "Portal" and spec.redirect_uris == (REDIRECT,)
    assert spec.scopes == DEFAULT_CLIENT_SCOPES and spec.grant_types == ("authorization_code", "refresh_token")


def test_an_api_scope_needs_the_client_credentials_grant():
    login_portal = ClientSpec(name="Portal", redirect_uris=[REDIRECT], scopes=["openid", "admin:citizens.read"])
    both = ClientSpec(
        name="Portal",
        redirect_uris=[REDIRECT],
        scopes=["openid", "admin:citizens.read"],
        grant_types=["authorization_code", "client_credentials"],
    )

    assert _refusal(login_portal) == ("scope", "choice")
    assert "admin:citizens.read" in validate(both).scopes


def test_only_a_client_credentials_client_may_have_no_redirect_uri():
    backend = ClientSpec(name="Back-end", grant_types=["client_credentials"], scopes=["notices.send"])

    assert validate(backend).redirect_uris == ()
    assert _refusal(ClientSpec(name="Portal")) == ("redirect_uri", "required")
    assert _refusal(ClientSpec(name="Both", grant_types=["client_credentials", "refresh_token"])) == (
        "redirect_uri",
        "required",
    )


@pytest.mark.parametrize("member", ["d", "p", "q", "k"])
def test_a_jwks_holding_a_private_or_symmetric_key_member_is_refused(member):
    key = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", member: "secret"}
    spec = ClientSpec(name="Keyed", redirect_uris=[REDIRECT], auth_method="private_key_jwt", jwks={"keys": [key]})

    assert _refusal(spec) == ("jwks", "jwks")


def test_jwks_text_that_is_not_a_json_object_is_refused_as_a_jwks():
    for text in ("{not json", "[]", '"keys"'):
        with pytest.raises(ValidationError) as refused:
            parse_jwks(text)
        assert (refused.value.field, refused.value.code) == ("jwks", "jwks")


def test_private_key_jwt_needs_registered_keys():
    spec = ClientSpec(name="Keyed", redirect_uris=[REDIRECT], auth_method="private_key_jwt")

    assert _refusal(spec) == ("jwks", "required")
