"""The grants of /token, called without HTTP: a code is exchanged once, by its client, with its
verifier; a refresh token rotates and never widens; client_credentials carries no citizen scope."""

from __future__ import annotations

import pytest

from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client
from idp.core.tokens import grant
from idp.errors import InvalidDpopProof, InvalidGrant, InvalidScope, UnauthorizedClient, UnsupportedGrantType
from tests.helpers import REDIRECT_URI, Pkce, Portal, issued_code


def code_for(provider, portal, citizen, pkce, **overrides):
    return issued_code(provider, Portal(portal.id, None), citizen, pkce, **overrides)["code"]


def exchange_params(code: str, pkce: Pkce, **overrides: str | None) -> dict[str, list[str]]:
    params: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
    }
    params.update(overrides)
    return {k: [v] for k, v in params.items() if v is not None}


def refresh_params(token: str, **overrides: str) -> dict[str, list[str]]:
    return {"grant_type": ["refresh_token"], "refresh_token": [token], **{k: [v] for k, v in overrides.items()}}


def test_a_code_is_exchanged_for_an_id_token_an_access_token_and_with_offline_access_a_refresh_token(
    provider, portal, citizen
):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce, scope="openid profile offline_access")

    tokens = grant(provider, portal, exchange_params(code, pkce))

    assert {"id_token", "access_token", "refresh_token"} <= tokens.keys()
    assert tokens["token_type"].lower() == "bearer" and tokens["scope"] == "openid profile offline_access"


def test_a_code_is_refused_the_second_time(provider, portal, citizen):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce)
    grant(provider, portal, exchange_params(code, pkce))

    with pytest.raises(InvalidGrant, match="already used"):
        grant(provider, portal, exchange_params(code, pkce))


def test_a_code_is_refused_with_another_verifier(provider, portal, citizen):
    code = code_for(provider, portal, citizen, Pkce())

    with pytest.raises(InvalidGrant, match="code_verifier"):
        grant(provider, portal, exchange_params(code, Pkce()))


def test_a_code_is_refused_with_another_redirect_uri(provider, portal, citizen):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce)

    with pytest.raises(InvalidGrant, match="redirect_uri"):
        grant(provider, portal, exchange_params(code, pkce, redirect_uri=REDIRECT_URI + "/other"))


def test_a_code_is_refused_to_another_client(provider, portal, citizen):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce)
    other = register_client(provider, ClientSpec(name="Cổng khác", redirect_uris=[REDIRECT_URI])).client

    with pytest.raises(InvalidGrant, match="invalid"):
        grant(provider, other, exchange_params(code, pkce))


def test_a_code_is_refused_once_its_lifetime_has_passed(provider, clock, portal, citizen):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce)
    clock.advance(provider.settings.code_ttl)

    with pytest.raises(InvalidGrant, match="expired"):
        grant(provider, portal, exchange_params(code, pkce))


def test_a_refresh_rotates_the_token_and_the_old_one_is_refused_after_the_grace(provider, clock, portal, citizen):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce, scope="openid profile offline_access")
    first = grant(provider, portal, exchange_params(code, pkce))["refresh_token"]

    second = grant(provider, portal, refresh_params(first))["refresh_token"]
    clock.advance(60)

    assert second != first
    with pytest.raises(InvalidGrant, match="already used"):
        grant(provider, portal, refresh_params(first))


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(provider, portal, citizen):
    pkce = Pkce()
    code = code_for(provider, portal, citizen, pkce, scope="openid profile offline_access")
    token = grant(provider, portal, exchange_params(code, pkce))["refresh_token"]

    narrowed = grant(provider, portal, refresh_params(token, scope="openid"))

    assert narrowed["scope"] == "openid"
    with pytest.raises(InvalidScope):
        grant(provider, portal, refresh_params(narrowed["refresh_token"], scope="openid phone"))


def test_an_unknown_grant_type_is_refused(provider, portal):
    with pytest.raises(UnsupportedGrantType):
        grant(provider, portal, {"grant_type": ["password"]})


def test_a_client_that_must_use_dpop_is_refused_without_a_proof(provider):
    bound = register_client(
        provider, ClientSpec(name="Cổng DPoP", redirect_uris=[REDIRECT_URI], require_dpop=True)
    ).client

    with pytest.raises(InvalidDpopProof):
        grant(provider, bound, exchange_params("any", Pkce()))


def test_client_credentials_gives_a_backend_its_own_scopes_and_never_a_citizen_scope(provider):
    backend = register_client(
        provider,
        ClientSpec(
            name="Máy chủ cổng",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["profile", "notices.send"],
        ),
    ).client

    tokens = grant(provider, backend, {"grant_type": ["client_credentials"]})

    assert tokens["scope"] == "notices.send" and "refresh_token" not in tokens
    with pytest.raises(InvalidScope):
        grant(provider, backend, {"grant_type": ["client_credentials"], "scope": ["profile"]})


def test_a_client_not_registered_for_client_credentials_is_refused_it(provider, portal):
    with pytest.raises(UnauthorizedClient):
        grant(provider, portal, {"grant_type": ["client_credentials"]})
