"""A citizen logs in with Debian's Chromium, driven by Playwright, through the real pages."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _authorization_url(rp_config, **extra):
    meta = httpx.get(f"{rp_config.issuer}/.well-known/openid-configuration").json()
    rp = OAuth2Client(
        rp_config.client_id,
        rp_config.client_secret,
        scope="openid profile",
        redirect_uri=rp_config.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=secrets.token_urlsafe(8), **extra
    )
    return rp, meta, url, state, verifier


def _capture_callback(page, redirect_uri):
    seen = []

    def fulfil(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>portal</h1>")

    page.route(redirect_uri + "*", fulfil)
    return seen


def test_a_citizen_logs_in_and_consents_in_chromium_and_the_portal_gets_tokens(running_provider, chromium):
    rp, meta, url, state, verifier = _authorization_url(running_provider, ui_locales="vi")
    page = chromium.new_page()
    callbacks = _capture_callback(page, running_provider.redirect_uri)

    page.goto(url)
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", running_provider.password)
    page.click("button[type=submit]")
    page.wait_for_selector("ul.scopes")
    page.click("button[value=allow]")
    page.wait_for_url(running_provider.redirect_uri + "*")

    callback = callbacks[-1]
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [state] and query["iss"] == [running_provider.issuer]
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["id_token"]
    page.close()


def test_a_wrong_password_shows_the_same_message_in_the_browser_and_no_session(running_provider, chromium):
    _, _, url, _, _ = _authorization_url(running_provider, ui_locales="en")
    context = chromium.new_context()
    page = context.new_page()

    page.goto(url)
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", "not the password at all")
    page.click("button[type=submit]")

    assert "not correct" in page.locator("#error-summary").inner_text()
    assert not [c for c in context.cookies() if c["name"] == "idp_session"]
    context.close()
