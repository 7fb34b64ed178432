"""The authorization request's checks, called without HTTP: which requests are refused, how, and
where the refusal may be sent."""

from __future__ import annotations

import pytest

from idp.core.authorize import validate
from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client
from idp.errors import (
    InvalidRequest,
    InvalidScope,
    RequestNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from tests.helpers import REDIRECT_URI, Pkce


def request_params(client_id: str, **overrides: str | None) -> dict[str, list[str]]:
    params: dict[str, str | None] = {
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": Pkce().challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: [v] for k, v in params.items() if v is not None}


def test_a_well_formed_request_yields_the_client_and_what_it_asked_for(provider, portal):
    params = request_params(portal.id, prompt="login", max_age="300", acr_values="LoA2")

    client, request = validate(provider, params)

    assert client.id == portal.id
    assert request.redirect_uri == REDIRECT_URI and request.scope == ("openid", "profile")
    assert (request.state, request.nonce, request.prompt, request.max_age) == ("st-1", "n-1", ("login",), 300)
    assert request.acr_values == ("LoA2",)


def test_an_unknown_client_is_refused_on_a_page_not_by_redirect(provider):
    with pytest.raises(InvalidRequest) as refused:
        validate(provider, request_params("no-such-client"))

    assert refused.value.redirect_uri is None


def test_an_unregistered_redirect_uri_is_refused_on_a_page_not_by_redirect(provider, portal):
    with pytest.raises(InvalidRequest) as refused:
        validate(provider, request_params(portal.id, redirect_uri=REDIRECT_URI + "/other"))

    assert refused.value.redirect_uri is None


def test_a_missing_pkce_challenge_is_sent_back_to_the_portal_with_its_state(provider, portal):
    with pytest.raises(InvalidRequest) as refused:
        validate(provider, request_params(portal.id, code_challenge=None))

    assert (refused.value.redirect_uri, refused.value.state) == (REDIRECT_URI, "st-1")


def test_the_plain_pkce_method_is_refused(provider, portal):
    with pytest.raises(InvalidRequest, match="S256"):
        validate(provider, request_params(portal.id, code_challenge_method="plain"))


def test_a_repeated_parameter_is_refused(provider, portal):
    params = request_params(portal.id)
    params["scope"] = ["openid", "openid profile"]

    with pytest.raises(InvalidRequest, match="repeated"):
        validate(provider, params)


def test_a_scope_without_openid_is_refused(provider, portal):
    with pytest.raises(InvalidScope):
        validate(provider, request_params(portal.id, scope="profile"))


def test_a_scope_the_client_was_not_allowed_is_refused(provider):
    narrow = register_client(
        provider, ClientSpec(name="Cổng hẹp", redirect_uris=[REDIRECT_URI], scopes=["openid"])
    ).client

    with pytest.raises(InvalidScope, match="not allowed"):
        validate(provider, request_params(narrow.id, scope="openid phone"))


def test_only_the_code_response_type_is_supported(provider, portal):
    with pytest.raises(UnsupportedResponseType):
        validate(provider, request_params(portal.id, response_type="token"))


def test_prompt_none_must_stand_alone(provider, portal):
    with pytest.raises(InvalidRequest, match="prompt=none"):
        validate(provider, request_params(portal.id, prompt="none login"))


def test_request_objects_are_refused(provider, portal):
    with pytest.raises(RequestNotSupported):
        validate(provider, request_params(portal.id, request="eyJhbGciOiJub25lIn0.e30."))


def test_a_client_that_must_push_its_requests_is_refused_a_direct_one_and_served_a_pushed_one(provider):
    pushing = register_client(
        provider, ClientSpec(name="Cổng PAR", redirect_uris=[REDIRECT_URI], require_par=True)
    ).client

    with pytest.raises(InvalidRequest, match="PAR"):
        validate(provider, request_params(pushing.id))
    client, _ = validate(provider, request_params(pushing.id), pushed=True)

    assert client.id == pushing.id


def test_a_client_registered_only_for_client_credentials_may_not_start_a_login(provider):
    backend = register_client(
        provider, ClientSpec(name="Máy chủ cổng", redirect_uris=[REDIRECT_URI], grant_types=["client_credentials"])
    ).client

    with pytest.raises(UnauthorizedClient):
        validate(provider, request_params(backend.id))
