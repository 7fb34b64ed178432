"""Bad input gets the standard error with the right status: never a 500, never a half-written row."""

from __future__ import annotations

import pytest


def test_a_json_body_at_the_token_endpoint_gets_415_invalid_request(client, portal):
    response = client.post("/token", auth=portal.basic, json={"grant_type": "authorization_code"})

    assert response.status_code == 415 and response.json()["error"] == "invalid_request"


def test_a_huge_body_gets_413_invalid_request(client, portal):
    response = client.post(
        "/token",
        auth=portal.basic,
        content=b"grant_type=" + b"a" * 200_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413 and response.json()["error"] == "invalid_request"


def test_a_huge_chunked_body_without_length_gets_413(client, portal):
    def chunks():
        for _ in range(100):
            yield b"a" * 4096

    response = client.post(
        "/token", auth=portal.basic, content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 413


@pytest.mark.parametrize("body", [b"grant_type=%zz", b"grant_type=%ff%fe", b"grant_type=\xff", b"a=%00"])
def test_broken_encoding_gets_400_invalid_request(client, portal, body):
    response = client.post(
        "/token", auth=portal.basic, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_repeated_parameter_at_the_token_endpoint_is_refused(client, portal):
    response = client.post(
        "/token",
        auth=portal.basic,
        content=b"grant_type=authorization_code&code=a&code=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_missing_grant_type_is_invalid_request(client, portal):
    response = client.post("/token", auth=portal.basic, data={"code": "x"})

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + "bm9jb2xvbg==", "Bearer abc", "Digest x"])
def test_malformed_client_authentication_gets_401(client, header):
    response = client.post("/token", headers={"Authorization": header}, data={"grant_type": "refresh_token"})

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_get_on_the_token_endpoint_gets_405_json(client):
    response = client.get("/token")

    assert response.status_code == 405 and response.json()["error"] == "invalid_request"


def test_an_unknown_path_gets_404_json(client):
    assert client.get("/nothing-here").status_code == 404


def test_a_login_form_with_the_wrong_content_type_gets_an_error_page(client, portal):
    response = client.post("/interaction/abc/login", json={"identifier": "x"})

    assert response.status_code == 415 and "text/html" in response.headers["content-type"]


def test_an_overlong_state_is_refused(client, portal):
    from urllib.parse import urlencode

    from tests.helpers import Pkce, authorize_params, query_of

    response = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), state="s" * 5000)))

    assert query_of(response.headers["location"])["error"] == "invalid_request"
