"""The staff console in Debian's Chromium against the real server: an admin logs in with TOTP, a
clerk records an in-person check, a supervisor approves it, and the citizen's next login to a
portal asking LoA2 succeeds with two factors."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from idp.crypto.totp import totp_code
from tests.e2e.conftest import _idp
from tests.helpers import codes_in_outbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

STAFF_PASSWORD = "a long staff password"


def _add_staff(env, username: str, *roles: str) -> str:
    args = ["staff", "add", "--username", username, "--password-stdin"]
    for role in roles:
        args += ["--role", role]
    done = _idp(env, *args, stdin=STAFF_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    uri = json.loads(done.stdout)["totp_uri"]
    return parse_qs(urlsplit(uri).query)["secret"][0]


def _staff_login(chromium, base: str, username: str, secret: str):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{base}/admin/login")
    page.fill("#username", username)
    page.fill("#password", STAFF_PASSWORD)
    page.fill("#code", totp_code(secret, int(time.time())))
    page.click("#login")
    page.wait_for_selector("#who")
    assert page.locator("#who").inner_text() == username
    return context, page


def _type_what_the_card_says(page, birth_date: str = "1990-05-01") -> None:
    """The test citizen's CCCD (tests.helpers.CITIZEN), as the clerk reads it."""
    page.fill("#doc_full_name", "TRẦN THỊ BÌNH")
    page.fill("#doc_birth_date", birth_date)
    page.select_option("#doc_sex", "male")


def test_admin_clerk_and_supervisor_raise_a_citizen_to_loa2_and_the_citizen_logs_in_at_loa2(running_provider, chromium):
    rp = running_provider
    admin = _add_staff(rp.env, "root.admin", "admin")
    clerk = _add_staff(rp.env, "counter.clerk", "clerk")
    supervisor = _add_staff(rp.env, "desk.supervisor", "supervisor")

    # The admin logs in with password + TOTP and finds the citizen.
    context, page = _staff_login(chromium, rp.issuer, "root.admin", admin)
    page.goto(f"{rp.issuer}/admin/citizens?q={rp.id_number}")
    assert page.locator("#results a").count() == 1
    context.close()

    # The clerk records the in-person check.
    context, page = _staff_login(chromium, rp.issuer, "counter.clerk", clerk)
    page.goto(f"{rp.issuer}/admin/citizens?q={rp.id_number}")
    page.click("#results a")
    page.fill("#document_number", rp.id_number)
    _type_what_the_card_says(page)
    page.check("#data_matches")
    page.fill("#note", "CCCD checked at the counter")
    page.click("#record")
    page.wait_for_selector("#notice")
    assert page.locator("#checks li[data-status=pending]").inner_text().endswith("đang chờ duyệt")
    context.close()

    # A different person, the supervisor, approves it.
    context, page = _staff_login(chromium, rp.issuer, "desk.supervisor", supervisor)
    page.goto(f"{rp.issuer}/admin/desk")
    page.click("button.approve")
    page.wait_for_selector("#notice")
    assert page.locator("#pending tr.empty").inner_text() == "Không có hồ sơ nào đang chờ."
    context.close()

    # The citizen's next login to a portal asking LoA2: password, then an SMS code.
    meta = httpx.get(f"{rp.issuer}/.well-known/openid-configuration").json()
    client = OAuth2Client(
        rp.client_id,
        rp.client_secret,
        scope="openid profile",
        redirect_uri=rp.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"],
        code_verifier=verifier,
        nonce=secrets.token_urlsafe(8),
        acr_values="LoA2",
        ui_locales="en",
    )
    context = chromium.new_context()
    page = context.new_page()
    seen: list[str] = []

    def fulfil(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>portal</h1>")

    page.route(rp.redirect_uri + "*", fulfil)
    page.goto(url)
    page.fill("#identifier", rp.id_number)
    page.fill("#password", rp.password)
    page.click("form[action*='/login'] button[type=submit]")  # a portal asking LoA2 sees the passkey first
    page.wait_for_selector("#send-sms")
    page.click("#send-sms")
    page.wait_for_selector("#code")
    data_dir = Path(rp.env["IDP_DATA_DIR"])
    page.fill("#code", codes_in_outbox(data_dir, "+84912345678", "login")[-1])
    page.click("button[value=verify]")
    if page.locator("ul.scopes").count() or not seen:
        page.wait_for_selector("ul.scopes")
        page.click("button[value=allow]")
    page.wait_for_url(rp.redirect_uri + "*")
    context.close()

    callback = seen[-1]
    assert "error" not in parse_qs(urlsplit(callback).query), unquote(callback)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
    )
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert claims["acr"] == "LoA2" and "mfa" in claims["amr"]


def test_the_supervisor_sees_a_difference_highlighted_and_approves_it_only_with_a_reason(running_provider, chromium):
    rp = running_provider
    clerk = _add_staff(rp.env, "counter.clerk", "clerk")
    supervisor = _add_staff(rp.env, "desk.supervisor", "supervisor")
    context, page = _staff_login(chromium, rp.issuer, "counter.clerk", clerk)
    page.goto(f"{rp.issuer}/admin/citizens?q={rp.id_number}")
    page.click("#results a")
    page.fill("#document_number", rp.id_number)
    _type_what_the_card_says(page, birth_date="1990-05-02")  # the card says the 2nd, the account the 1st
    page.check("#data_matches")
    page.click("#record")
    page.wait_for_selector("#notice")
    context.close()

    context, page = _staff_login(chromium, rp.issuer, "desk.supervisor", supervisor)
    page.goto(f"{rp.issuer}/admin/desk")
    highlighted = page.locator("tr.difference")
    assert highlighted.count() == 1 and highlighted.get_attribute("data-field") == "birth_date"
    assert highlighted.locator("mark").all_inner_texts() == ["1990-05-02", "1990-05-01"]
    assert page.locator("tr.same mark").count() == 0  # the name in capitals is no difference
    page.click("button.approve")  # no reason: the browser keeps the form
    assert page.locator("button.approve").count() == 1 and page.locator("#pending tr.empty").count() == 0
    page.fill("input.approve-reason", "the account's birth day was mistyped; card seen")
    page.click("button.approve")
    page.wait_for_selector("#notice")
    assert page.locator("#pending tr.empty").inner_text() == "Không có hồ sơ nào đang chờ."
    context.close()
