"""A citizen's whole journey in Chromium against the real server: register, prove the phone with the
code from the outbox, enrol an authenticator app from the QR page, log out, then log in to a
portal with password + app code; the portal's ID token says `otp` and LoA1."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from idp.crypto.totp import totp_code
from tests.helpers import codes_in_outbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PHONE = "0987 654 321"
PASSWORD = "mây trắng bay qua đồi xanh"


def _clear_of_a_step_boundary() -> None:
    """A code computed for the previous 30-second step stays good until the next boundary: with less
    than 3 s to go, the form could arrive when that step is already two steps old. Wait it out."""
    left = 30 - time.time() % 30
    if left < 3:
        time.sleep(left + 0.5)


def test_register_verify_enrol_totp_and_log_in_to_a_portal_with_two_factors(running_provider, chromium):
    base = running_provider.issuer
    data_dir = Path(running_provider.env["IDP_DATA_DIR"])
    page = chromium.new_page()

    page.goto(f"{base}/register?lang=vi")
    page.fill("#full_name", "Phạm Minh Châu")
    page.fill("#citizen_id", "079303001234")
    page.fill("#birth_date", "2003-04-05")
    page.select_option("#sex", "female")
    page.fill("#phone", PHONE)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#code")
    page.fill("#code", codes_in_outbox(data_dir, "+84987654321", "register")[-1])
    page.click("button[value=verify]")
    assert "Phạm Minh Châu" in page.locator("[role=status]").inner_text()

    page.click("#continue")  # registering logged the citizen in: straight to the account page
    page.wait_for_selector("#enrol-totp")
    page.click("#enrol-totp")
    secret = page.locator("#totp-secret").inner_text()
    assert page.locator(".qr svg").count() == 1
    _clear_of_a_step_boundary()
    page.fill("#code", totp_code(secret, int(time.time()) - 30))  # the previous step: login uses the current
    page.click("button[type=submit]")
    assert page.locator("#recovery-codes li").count() == 10

    page.goto(f"{base}/logout")
    page.click("button[type=submit]")

    meta = httpx.get(f"{base}/.well-known/openid-configuration").json()
    rp = OAuth2Client(
        running_provider.client_id,
        running_provider.client_secret,
        scope="openid profile",
        redirect_uri=running_provider.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=secrets.token_urlsafe(8)
    )
    seen = []
    page.route(
        running_provider.redirect_uri + "*",
        lambda route: (seen.append(route.request.url), route.fulfill(status=200, body="portal")),
    )
    page.goto(url)
    page.fill("#identifier", "0987654321")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#code")
    page.fill("#code", totp_code(secret, int(time.time())))
    page.click("button[value=verify]")
    page.wait_for_selector("ul.scopes")
    page.click("button[value=allow]")
    page.wait_for_url(running_provider.redirect_uri + "*")

    token = rp.fetch_token(meta["token_endpoint"], authorization_response=seen[-1], state=state, code_verifier=verifier)
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "LoA1"
    page.close()
