"""Bad input gets the standard error with the right status: never a 500, never a half-written row."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import ISSUER


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


# -- hostile JSON and numbers: a 400 with the route's standard error, never a RecursionError's 500 --


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _unraised(provider) -> TestClient:
    """A client that shows a 500 as the client would see it, instead of raising the server's error."""
    return TestClient(create_app(provider), base_url=ISSUER, raise_server_exceptions=False, follow_redirects=False)


@pytest.mark.parametrize("path", ["/api/registrations", "/api/registrations/some-flow/verify"])
@pytest.mark.parametrize("body", [_nested(8_000), b'{"a": ' + _nested(7_000) + b"}", b'{"a": ' * 2_000 + b"1"])
def test_deeply_nested_json_at_the_registration_api_is_a_400(provider, path, body):
    response = _unraised(provider).post(path, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_json_nested_within_the_limit_is_read_as_usual(provider):
    body = b'{"full_name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'  # brackets in a string do not nest

    response = _unraised(provider).post(
        "/api/registrations", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400 and response.json().get("field") is not None  # the declaration's refusal


def test_deeply_nested_json_at_the_admin_api_is_a_400(provider, clock):
    from tests.admin.conftest import add_staff, log_in

    created = add_staff(provider, "nested-json-admin", "admin")
    member = log_in(provider, clock, "nested-json-admin", created.totp_secret)
    http = _unraised(provider)
    http.cookies.set("__Host-idp_staff", member.cookie)

    response = http.post(
        "/admin/api/clients",
        content=_nested(32_000),
        headers={"Content-Type": "application/json", "X-CSRF-Token": member.csrf},
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("value", ["²", "١٢", "1" * 5000, "12345678901234567890", "-1", "1e3", " 1"])
def test_max_age_that_is_not_plain_ascii_digits_is_invalid_request(provider, portal, value):
    from urllib.parse import urlencode

    from tests.helpers import Pkce, authorize_params, query_of

    response = _unraised(provider).get("/authorize?" + urlencode(authorize_params(portal, Pkce(), max_age=value)))

    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_a_plain_max_age_is_still_accepted(client, portal):
    from urllib.parse import urlencode

    from tests.helpers import Pkce, authorize_params

    response = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), max_age="3600")))

    assert response.status_code == 303 and "/interaction/" in response.headers["location"]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/api/citizens?q=a&page=²",
        "/admin/api/citizens?q=a&page=" + "9" * 5000,
        "/admin/api/citizens?q=a&page=99999999999999999999",
        "/admin/api/audit?offset=¹",
        "/admin/api/audit?offset=" + "9" * 30,
        "/admin/api/audit?since=" + "9" * 30,
        "/admin/api/audit?until=٣",
    ],
)
def test_numbers_in_admin_api_queries_are_ascii_digits_within_bounds(provider, clock, path):
    from tests.admin.conftest import add_staff, log_in

    created = add_staff(provider, "numbers-admin", "admin", "auditor")
    member = log_in(provider, clock, "numbers-admin", created.totp_secret)
    http = _unraised(provider)
    http.cookies.set("__Host-idp_staff", member.cookie)

    response = http.get(path)

    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/admin/citizens?q=a&page=" + "9" * 5000, "/admin/audit?since=" + "9" * 30])
def test_numbers_in_console_queries_get_a_400_page(provider, clock, path):
    from tests.admin.conftest import add_staff, log_in

    created = add_staff(provider, "numbers-admin", "admin", "auditor")
    member = log_in(provider, clock, "numbers-admin", created.totp_secret)
    http = _unraised(provider)
    http.cookies.set("__Host-idp_staff", member.cookie)

    response = http.get(path)

    assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
