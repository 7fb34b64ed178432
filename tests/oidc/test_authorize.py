"""/authorize refuses what the standards refuse, and only redirects once the redirect URI is proven."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.helpers import ISSUER, Pkce, authorize_params, query_of


def _authorize(client, portal, **overrides):
    return client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), **overrides)))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://portal.example/callback/extra",
        "https://portal.example/callback?next=/admin",
        "https://portal.example/callback/",
        "https://PORTAL.example/callback",
        "https://evil.example/callback",
    ],
)
def test_a_redirect_uri_that_is_not_exactly_registered_gets_an_error_page_and_no_redirect(client, portal, redirect_uri):
    response = _authorize(client, portal, redirect_uri=redirect_uri)

    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]


def test_an_unknown_client_gets_an_error_page_and_no_redirect(client, portal):
    response = _authorize(client, portal, client_id="nobody")

    assert response.status_code == 400 and "location" not in response.headers


def test_a_missing_redirect_uri_gets_an_error_page(client, portal):
    response = _authorize(client, portal, redirect_uri=None)

    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "-5"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"acr_values": "LoA2"}, None),  # refused after login: see test_sessions
    ],
)
def test_a_bad_request_with_a_proven_redirect_uri_is_sent_back_with_state_and_iss(client, portal, overrides, error):
    response = _authorize(client, portal, state="keep-me", **overrides)

    if error is None:
        assert response.status_code == 303 and "/interaction/" in response.headers["location"]
        return
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(portal.redirect_uri + "?")
    query = query_of(location)
    assert query["error"] == error and query["state"] == "keep-me" and query["iss"] == ISSUER


def test_a_repeated_parameter_is_refused(client, portal):
    params = authorize_params(portal, Pkce())
    query = urlencode(params) + "&scope=openid"

    response = client.get("/authorize?" + query)

    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_unknown_parameters_are_ignored_as_rfc_6749_section_3_1_requires(client, portal):
    response = _authorize(client, portal, favourite_colour="green")

    assert response.status_code == 303 and "/interaction/" in response.headers["location"]


def test_broken_percent_encoding_gets_an_error_page(client, portal):
    response = client.get(f"/authorize?client_id={portal.client_id}&state=%zz")

    assert response.status_code == 400 and "location" not in response.headers


def test_invalid_utf8_gets_an_error_page(client, portal):
    response = client.get(f"/authorize?client_id={portal.client_id}&state=%ff%fe")

    assert response.status_code == 400 and "location" not in response.headers


def test_the_interaction_link_is_built_from_the_issuer_never_from_the_host_header(client, portal):
    response = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce())), headers={"Host": "evil.example"})

    assert response.headers["location"].startswith(ISSUER + "/interaction/")


def test_a_public_client_must_also_use_pkce(client, provider):
    from tests.helpers import add_portal

    public = add_portal(provider, auth_method="none")

    response = _authorize(client, public, code_challenge=None, code_challenge_method=None)

    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_authorize_accepts_a_form_post_too(client, portal):
    response = client.post("/authorize", data=authorize_params(portal, Pkce()))

    assert response.status_code == 303 and "/interaction/" in response.headers["location"]


def test_an_unknown_request_uri_gets_an_error_page_and_no_redirect(client, portal):
    response = _authorize(client, portal, request_uri="urn:ietf:params:oauth:request_uri:forged")

    assert response.status_code == 400 and "location" not in response.headers


def test_a_client_registered_only_for_client_credentials_cannot_start_a_login(client, provider):
    from tests.helpers import add_portal

    backend = add_portal(provider, grant_types=["client_credentials"])

    response = _authorize(client, backend)

    assert query_of(response.headers["location"])["error"] == "unauthorized_client"
