"""The demo portal over the mock provider, from a citizen's browser's point of view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from postid_client.demo import DemoSettings, create_app
from postid_client.testing import MockProvider

PORTAL = "http://127.0.0.1:8001"


@pytest.fixture
def mock() -> MockProvider:
    provider = MockProvider()
    provider.register_client(
        "demo-portal",
        redirect_uris=[f"{PORTAL}/callback"],
        client_secret="demo-secret",
        post_logout_redirect_uris=[f"{PORTAL}/"],
    )
    return provider


@pytest.fixture
def browser(mock: MockProvider) -> Iterator[TestClient]:
    settings = DemoSettings(issuer=mock.issuer, client_secret="demo-secret", session_secret="k" * 32)
    app = create_app(settings, http_client=httpx.AsyncClient(transport=mock.transport()))
    with TestClient(app, base_url=PORTAL, follow_redirects=False) as client:
        yield client


def log_in(browser: TestClient, mock: MockProvider, citizen: str, start: str = "/login") -> httpx.Response:
    """Follow the redirects portal → provider → portal, as a browser would."""
    to_provider = browser.get(start)
    back = browser.get(mock.approve(to_provider.headers["location"], citizen=citizen))
    return browser.get(back.headers["location"]) if back.status_code in (302, 303) else back


def test_the_home_page_offers_login_with_postid_under_the_portal_title(browser):
    page = browser.get("/")

    assert "Cổng dịch vụ công" in page.text
    assert 'href="/login"' in page.text


def test_a_citizen_who_logs_in_sees_their_name_level_and_methods(browser, mock):
    page = log_in(browser, mock, "citizen-lan")

    assert "Nguyễn Thị Lan" in page.text
    assert '<dd id="acr">LoA1</dd>' in page.text
    assert '<dd id="amr">pwd</dd>' in page.text


def test_the_loa2_page_steps_a_level_one_session_up_through_the_provider(browser, mock):
    log_in(browser, mock, "citizen-lan")
    step_up = browser.get("/ho-so-muc-2")
    assert parse_qs(urlsplit(step_up.headers["location"]).query)["acr_values"] == ["LoA2"]

    page = log_in(browser, mock, "citizen-lan", start=step_up.headers["location"])

    assert 'id="loa2-ok"' in page.text
    assert '<dd id="acr">LoA2</dd>' in page.text
    assert '<dd id="amr">pwd otp mfa</dd>' in page.text


def test_a_citizen_who_cannot_reach_loa2_is_refused_the_loa2_page(browser, mock):
    log_in(browser, mock, "citizen-minh")
    step_up = browser.get("/ho-so-muc-2")

    page = log_in(browser, mock, "citizen-minh", start=step_up.headers["location"])

    assert page.status_code == 403
    assert "Trang này cần tài khoản định danh mức 2" in page.text
    assert 'id="reason">Tài khoản của bạn chưa đạt mức mà trang này yêu cầu.</p>' in page.text
    # The codes stay for whoever runs the portal, folded away under the technical details.
    assert re.search(r"<details>.*authorization_denied.*</details>", page.text, re.S)
    assert "authorization_denied" not in page.text.split("<details>")[0]


def test_the_passkey_page_opens_after_a_passkey_login_and_refuses_a_second_password_login(browser, mock):
    log_in(browser, mock, "citizen-minh")
    ask = browser.get("/khoa-truy-cap")
    refused = log_in(browser, mock, "citizen-minh", start=ask.headers["location"])  # a password again
    mock.login_as("citizen-minh", method="passkey")
    opened = log_in(browser, mock, "citizen-minh", start="/login?next=/khoa-truy-cap&prompt=login")

    assert parse_qs(urlsplit(ask.headers["location"]).query)["prompt"] == ["login"]
    assert refused.status_code == 403 and "chỉ mở cho lần đăng nhập bằng khóa truy cập" in refused.text
    assert 'href="/login?next=%2Fkhoa-truy-cap&amp;prompt=login"' in refused.text  # a fresh login, to this page
    assert 'id="passkey-ok"' in opened.text and '<dd id="amr">hwk user mfa</dd>' in opened.text
    assert '<dd id="acr">LoA1</dd>' in opened.text  # a passkey does not verify an identity


def test_every_page_has_a_viewport_and_the_portals_stylesheet(browser):
    page = browser.get("/")
    style = browser.get("/demo.css")

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert '<link rel="stylesheet" href="/demo.css">' in page.text
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_a_refused_consent_is_told_in_vietnamese_with_a_way_back(browser, mock):
    to_provider = browser.get("/login")
    state = parse_qs(urlsplit(to_provider.headers["location"]).query)["state"][0]
    denied = {
        "error": "access_denied",
        "error_description": "the citizen did not allow this request",
        "state": state,
        "iss": mock.issuer,
    }

    page = browser.get("/callback", params=denied)

    assert page.status_code == 403 and "Đăng nhập không thành công" in page.text
    assert "Bạn đã không cho phép cổng dịch vụ nhận thông tin của mình" in page.text
    assert "Bạn đã chọn “Từ chối” trên trang PostID." in page.text
    assert 'href="/login"' in page.text and 'href="/"' in page.text


def test_logout_ends_the_portal_session_and_sends_the_browser_to_the_provider(browser, mock):
    log_in(browser, mock, "citizen-lan")

    response = browser.post("/logout")

    params = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(f"{mock.issuer}/logout?")
    assert params["post_logout_redirect_uri"] == [f"{PORTAL}/"]
    assert "id_token_hint" in params
    assert 'href="/login"' in browser.get("/").text


def test_a_back_channel_logout_from_the_provider_ends_the_citizens_session(browser, mock):
    page = log_in(browser, mock, "citizen-lan")
    assert "Nguyễn Thị Lan" in page.text
    token = mock.logout_token("demo-portal", sub="citizen-lan")

    response = browser.post("/backchannel-logout", data={"logout_token": token})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert 'href="/login"' in browser.get("/").text


def test_a_forged_back_channel_logout_is_refused(browser, mock):
    forged = MockProvider(issuer=mock.issuer).logout_token("demo-portal", sub="citizen-lan")

    response = browser.post("/backchannel-logout", data={"logout_token": forged})

    assert response.status_code == 400


def test_a_callback_that_this_browser_did_not_start_is_refused(browser, mock):
    other_browser_login = browser.get("/login").headers["location"]
    callback = mock.approve(other_browser_login, citizen="citizen-lan")
    browser.cookies.clear()

    response = browser.get(callback)

    assert response.status_code == 400
    assert "state_mismatch" in response.text


def test_the_next_parameter_never_redirects_off_site(browser, mock):
    to_provider = browser.get("/login?next=//evil.test/phish")
    back = browser.get(mock.approve(to_provider.headers["location"], citizen="citizen-lan"))

    assert back.headers["location"] == "/"


def test_the_session_cookie_is_http_only_and_same_site_lax(browser):
    response = browser.get("/login")

    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_the_demo_settings_come_from_the_environment():
    settings = DemoSettings.from_env(
        {
            "POSTID_ISSUER": "https://id.postid.vn",
            "POSTID_CLIENT_ID": "dvc",
            "POSTID_CLIENT_SECRET": "s",
            "DEMO_PORT": "9000",
        }
    )

    assert (settings.issuer, settings.client_id, settings.client_secret, settings.port) == (
        "https://id.postid.vn",
        "dvc",
        "s",
        9000,
    )
    assert settings.redirect_uri == "http://127.0.0.1:8001/callback"
