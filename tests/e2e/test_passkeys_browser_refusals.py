"""What the provider refuses, with answers a real browser made (Chromium's virtual authenticator):
an assertion made on a page of another origin with the provider's own options, an assertion
without user verification, and another citizen's credential posted as the second factor."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from idp.core import passkeys
from idp.core.accounts import add_active_citizen
from tests.e2e import test_passkeys_browser as browser
from tests.e2e.conftest import REDIRECT_URI
from tests.e2e.test_passkeys_browser import GET_ASSERTION, PASSWORD, _authenticator, _authorization, _enrol
from tests.helpers import CITIZEN

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
localhost_provider = browser.localhost_provider  # the same served provider, issuer http://localhost:PORT

# The page script's answer, with what an attacker's script may change in the options first.
GET_ASSERTION_WITH = GET_ASSERTION.replace(
    "async (options) => {", "async ([options, changes]) => {\n  Object.assign(options, changes);", 1
)


class _Blank(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>elsewhere</title><p>another site"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """Another origin on the same host: http://localhost on another port (the RP ID `localhost`
    is valid there, so only the provider's origin check stands in the way)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Blank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _audited_reasons(provider, action):
    with provider.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT detail FROM audit_event WHERE action = :a AND outcome = 'failure'"), {"a": action}
        ).scalars()
        return [json.loads(r)["reason"] for r in rows]


def test_an_assertion_made_on_another_origin_with_the_providers_options_is_refused(
    localhost_provider, chromium, elsewhere
):
    issuer, _, _, provider = localhost_provider
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)

    page.goto(elsewhere)
    relayed = page.evaluate(GET_ASSERTION, passkeys.begin_login(provider, "interaction-a", None))
    with pytest.raises(passkeys.PasskeyRefused):
        passkeys.finish_login(provider, "interaction-a", None, relayed)
    page.goto(f"{issuer}/account?lang=vi")
    own = page.evaluate(GET_ASSERTION, passkeys.begin_login(provider, "interaction-b", None))
    used = passkeys.finish_login(provider, "interaction-b", None, own)

    assert json.loads(passkeys.ceremony.decode(json.loads(relayed)["response"]["clientDataJSON"]))["origin"] == (
        elsewhere
    )
    assert _audited_reasons(provider, "citizen.login.passkey") == ["ceremony"]
    assert used.citizen.id_number == CITIZEN.id_number  # the same key, on the provider's own origin
    context.close()


def test_an_assertion_without_user_verification_is_refused(localhost_provider, chromium):
    issuer, _, _, provider = localhost_provider
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator = _authenticator(page)
    _enrol(page, issuer)
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})

    asked = passkeys.begin_login(provider, "interaction-a", None)
    browser_refused = page.evaluate(
        f"o => ({GET_ASSERTION})(o).then(() => 'answered', e => e.name)", asked
    )  # the page's own options require verification: the browser gives no answer
    unverified = page.evaluate(
        GET_ASSERTION_WITH, [passkeys.begin_login(provider, "interaction-b", None), {"userVerification": "discouraged"}]
    )  # a script asking without verification gets an answer, which the provider refuses
    with pytest.raises(passkeys.PasskeyRefused):
        passkeys.finish_login(provider, "interaction-b", None, unverified)

    assert browser_refused == "NotAllowedError"
    assert _audited_reasons(provider, "citizen.login.passkey") == ["ceremony"]
    context.close()


def test_another_citizens_passkey_posted_on_the_second_factor_page_is_refused(localhost_provider, chromium):
    issuer, client_id, secret, provider = localhost_provider
    other = replace(CITIZEN, id_number="001090000999", phone="0912 345 999", email=None)
    add_active_citizen(provider, other, PASSWORD)
    context = chromium.new_context()
    page = context.new_page()
    _authenticator(page)
    _enrol(page, issuer)  # the first citizen's passkey, in this browser's authenticator
    mine = provider.store.passkeys.of(provider.store.citizens.find_for_login(CITIZEN.id_number, None)[0].id)[0]
    context.clear_cookies()
    _enrol(page, issuer, other.id_number)  # the other citizen has one too, so is asked for it
    context.clear_cookies()
    _, _, url, _, _ = _authorization(issuer, client_id, secret)
    page.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="portal"))

    page.goto(url)
    page.fill("#identifier", other.id_number)
    page.fill("#password", PASSWORD)
    page.click("form[action*='/login'] button[type=submit]")
    page.wait_for_selector("#passkey-second")
    options = json.loads(page.locator("#passkey-second").get_attribute("data-options"))
    swapped = page.evaluate(
        GET_ASSERTION_WITH, [options, {"allowCredentials": [{"type": "public-key", "id": mine.credential_id}]}]
    )
    post = "(form, answer) => { form.elements.credential.value = answer; HTMLFormElement.prototype.submit.call(form); }"
    with page.expect_navigation():
        page.eval_on_selector("#passkey-second", post, swapped)

    assert page.locator("#passkey-second").count() == 1  # still the second factor, refused
    assert "/interaction/" in page.url and not page.url.startswith(REDIRECT_URI)
    assert _audited_reasons(provider, "citizen.login.passkey") == ["another_citizen"]
    context.close()
