"""The post-office counter in Debian's Chromium against the real server: a squatted number won back
(the squatter frozen and logged out of a portal by back channel), a citizen without a smartphone
registered at the counter, and a citizen who lost phone and app recovered there."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from idp.bootstrap import open_provider
from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client
from idp.settings import Settings
from tests.admin.test_browser import _add_staff, _staff_login
from tests.helpers import codes_in_outbox
from tests.oidc.test_logout import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SQUATTED = "001090000555"  # a man born in 1990, in Hà Nội: the owner's number, declared first by someone else
OWNER_PHONE = "0933444555"
PASSWORD = "a long enough password for the browser"


def _counter_sms(data_dir: Path, phone: str, at_least: int = 1) -> tuple[str, str]:
    """(link, code) of the newest counter SMS to `phone`, from the console sender's outbox file."""
    path = data_dir / "outbox.jsonl"
    deadline = time.monotonic() + 10
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        found = [m for m in map(json.loads, lines) if m["to"] == phone and m["purpose"] == "counter"]
        if len(found) >= at_least or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) >= at_least, f"no counter SMS to {phone}"
    link = re.search(r"(http://\S+/counter/[A-Za-z0-9_-]+)", found[-1]["text"])
    assert link
    return link.group(1), found[-1]["code"]


def _set_password(chromium, link: str, code: str, password: str = PASSWORD) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(link + "?lang=en")
    page.fill("#code", code)
    page.fill("#password", password)
    page.click("#set-password")
    assert "password is set" in page.locator("[role=status]").inner_text()
    context.close()


def _portal(rp, backchannel_uri: str | None = None) -> tuple[str, str]:
    provider = open_provider(Settings.from_env(rp.env))
    try:
        added = register_client(
            provider,
            ClientSpec(
                name="Cổng dịch vụ công tỉnh",
                redirect_uris=(rp.redirect_uri,),
                scopes=("openid", "profile", "citizen_id"),
                backchannel_logout_uri=backchannel_uri,
            ),
        )
    finally:
        provider.store.close()
    assert added.secret is not None
    return added.client.id, added.secret


def _log_in_to_portal(chromium, rp, client_id: str, secret: str, identifier: str, password: str) -> dict:
    """The citizen logs in to the portal in Chromium; the portal exchanges the code: the ID token's claims."""
    meta = httpx.get(f"{rp.issuer}/.well-known/openid-configuration").json()
    client = OAuth2Client(
        client_id, secret, scope="openid citizen_id", redirect_uri=rp.redirect_uri, code_challenge_method="S256"
    )
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=secrets.token_urlsafe(8), ui_locales="en"
    )
    context = chromium.new_context()
    page = context.new_page()
    seen: list[str] = []

    def fulfil(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>portal</h1>")

    page.route(rp.redirect_uri + "*", fulfil)
    page.goto(url)
    page.fill("#identifier", identifier)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("button[value=allow]")
    page.click("button[value=allow]")
    page.wait_for_url(rp.redirect_uri + "*")
    context.close()
    assert "error" not in parse_qs(urlsplit(seen[-1]).query), seen[-1]
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=seen[-1], state=state, code_verifier=verifier
    )
    return jwt.decode(token["id_token"], options={"verify_signature": False})


def _fill_card(page, prefix: str, number: str, name: str, birth_date: str, sex: str) -> None:
    page.select_option(f"#{prefix}document_type", "cccd")
    page.fill(f"#{prefix}document_number", number)
    page.fill(f"#{prefix}citizen_id", number)
    page.fill(f"#{prefix}full_name", name)
    page.fill(f"#{prefix}birth_date", birth_date)
    page.select_option(f"#{prefix}sex", sex)
    page.check(f"#{prefix}data_matches")


def _approve_at_the_desk(chromium, rp, supervisor: str) -> None:
    context, page = _staff_login(chromium, rp.issuer, "desk.supervisor", supervisor)
    page.goto(f"{rp.issuer}/admin/desk?lang=en")
    page.click("button.approve")
    page.wait_for_selector("#notice")
    assert "Nothing waiting" in page.locator("#pending").inner_text()
    context.close()


@pytest.mark.provider_env(IDP_OUTBOUND_ALLOW_PRIVATE="true")  # the portal's back channel listens on loopback
def test_a_squatted_number_is_won_back_at_the_counter_and_the_squatter_is_logged_out_of_the_portal(
    running_provider, chromium
):
    rp = running_provider
    data_dir = Path(rp.env["IDP_DATA_DIR"])
    receiver = Receiver()
    try:
        client_id, secret = _portal(rp, receiver.uri)
        clerk = _add_staff(rp.env, "counter.clerk", "clerk")
        supervisor = _add_staff(rp.env, "desk.supervisor", "supervisor")

        # The squatter registers the owner's number with their own phone and logs in to the portal.
        page = chromium.new_context().new_page()
        page.goto(f"{rp.issuer}/register?lang=en")
        assert "post-office counter" in page.locator("#no-code").inner_text()
        page.fill("#full_name", "Kẻ Mạo Danh")
        page.fill("#citizen_id", SQUATTED)
        page.fill("#birth_date", "1990-03-03")
        page.select_option("#sex", "male")
        page.fill("#phone", "0977000111")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#code")
        page.fill("#code", codes_in_outbox(data_dir, "+84977000111", "register")[-1])
        page.click("button[value=verify]")
        page.wait_for_selector("#continue")
        squatter = _log_in_to_portal(chromium, rp, client_id, secret, SQUATTED, PASSWORD)
        assert squatter["citizen_id"] == SQUATTED and squatter["citizen_id_verified"] is False

        # The owner, whose registration never got a code, goes to the counter with the card.
        context, page = _staff_login(chromium, rp.issuer, "counter.clerk", clerk)
        page.goto(f"{rp.issuer}/admin/counter?lang=en")
        _fill_card(page, "dis-", SQUATTED, "NGUYỄN VĂN CHỦ", "1990-08-08", "male")
        page.fill("#dis-phone", OWNER_PHONE)
        page.fill("#dis-note", "the owner's chip card; the squatter's phone is not theirs")
        page.click("#dispute")
        page.wait_for_selector("#notice")
        assert page.locator(".kind").first.inner_text() == "ID number dispute"
        context.close()
        _approve_at_the_desk(chromium, rp, supervisor)

        # The squatter is logged out of the portal by back channel.
        tokens = receiver.wait(1, seconds=15)
        assert len(tokens) == 1, "no back-channel logout reached the portal"
        logout = jwt.decode(tokens[0], options={"verify_signature": False})
        assert logout["sub"] == squatter["sub"] and "sid" not in logout

        # The owner sets a password from the SMS link and logs in with the number, verified.
        link, code = _counter_sms(data_dir, "+84933444555")
        _set_password(chromium, link, code)
        owner = _log_in_to_portal(chromium, rp, client_id, secret, SQUATTED, PASSWORD)
        assert owner["citizen_id"] == SQUATTED and owner["citizen_id_verified"] is True
        assert owner["sub"] != squatter["sub"]
    finally:
        receiver.server.shutdown()


def test_a_citizen_without_a_smartphone_is_registered_at_the_counter_and_verified(running_provider, chromium):
    rp = running_provider
    data_dir = Path(rp.env["IDP_DATA_DIR"])
    clerk = _add_staff(rp.env, "counter.clerk", "clerk")
    supervisor = _add_staff(rp.env, "desk.supervisor", "supervisor")

    context, page = _staff_login(chromium, rp.issuer, "counter.clerk", clerk)
    page.goto(f"{rp.issuer}/admin/counter?lang=en")
    _fill_card(page, "reg-", "011303000456", "Lò Thị Mai", "2003-02-14", "female")
    page.fill("#reg-phone", "0987654321")
    page.click("#register")
    page.wait_for_selector("#notice")
    assert page.locator("#level").inner_text().startswith("Level 1")
    assert PASSWORD not in page.content()
    context.close()
    link, code = _counter_sms(data_dir, "+84987654321")
    _set_password(chromium, link, code)  # on a kiosk or a relative's phone: the clerk sees neither
    _approve_at_the_desk(chromium, rp, supervisor)

    claims = _log_in_to_portal(chromium, rp, *_portal(rp), "011303000456", PASSWORD)
    assert claims["citizen_id"] == "011303000456" and claims["citizen_id_verified"] is True


def test_a_citizen_who_lost_phone_and_app_is_recovered_at_the_counter(running_provider, chromium):
    rp = running_provider
    data_dir = Path(rp.env["IDP_DATA_DIR"])
    clerk = _add_staff(rp.env, "counter.clerk", "clerk")
    supervisor = _add_staff(rp.env, "desk.supervisor", "supervisor")

    context, page = _staff_login(chromium, rp.issuer, "counter.clerk", clerk)
    page.goto(f"{rp.issuer}/admin/citizens?q={rp.id_number}&lang=en")
    page.click("#results a")
    page.fill("#rec-document_number", rp.id_number)
    page.fill("#rec-full_name", "TRẦN THỊ BÌNH")
    page.fill("#rec-birth_date", "1990-05-01")
    page.select_option("#rec-sex", "male")
    page.fill("#rec-phone", "0911222333")
    page.check("#rec-data_matches")
    page.click("#record-recovery")
    page.wait_for_selector("#notice")
    assert "recovery" in page.locator("#checks").inner_text()
    context.close()
    _approve_at_the_desk(chromium, rp, supervisor)
    link, code = _counter_sms(data_dir, "+84911222333")
    _set_password(chromium, link, code)

    notices = [
        json.loads(line)
        for line in (data_dir / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
        if '"notice"' in line
    ]
    assert any(n["to"] == "+84912345678" for n in notices), "the old phone was not told"
    claims = _log_in_to_portal(chromium, rp, *_portal(rp), "0911222333", PASSWORD)
    assert claims["citizen_id"] == rp.id_number and claims["citizen_id_verified"] is True
