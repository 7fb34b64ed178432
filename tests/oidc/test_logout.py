"""RP-initiated logout, back-channel logout to every portal of the session, connected services."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import pytest

from postid_client import PostIDClient
from postid_client.errors import ReplayedToken
from tests.helpers import (
    Pkce,
    add_citizen,
    add_portal,
    authorize_params,
    csrf_of,
    exchange,
    form_action,
    login_and_consent,
    query_of,
)

LOGOUT_URI = "https://portal.example/logged-out"


class Receiver:
    """A portal's back-channel logout endpoint on 127.0.0.1; can be 'down' (answers 503)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.tokens.append(parse_qs(body)["logout_token"][0])
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, seconds: float = 5) -> list[str]:
        deadline = time.monotonic() + seconds
        while len(self.tokens) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.tokens


@pytest.fixture
def receivers():
    made = [Receiver(), Receiver()]
    yield made
    for receiver in made:
        receiver.server.shutdown()


def _portal_sdk(client, clock, portal) -> PostIDClient:
    """The portal's side, on the test's clock, reaching the provider through the test client."""
    return PostIDClient(
        "https://idp.test",
        portal.client_id,
        client_secret=portal.secret,
        redirect_uri=portal.redirect_uri,
        http_client=client,
        clock=clock.now,
    )


def _login(client, portal, citizen, password):
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce, scope="openid offline_access")
    return exchange(client, portal, callback["code"], pkce).json()


def test_a_valid_hint_logs_out_at_once_and_returns_to_the_registered_uri_with_state(client, provider):
    portal = add_portal(provider, post_logout_redirect_uris=[LOGOUT_URI])
    citizen, password = add_citizen(provider)
    tokens = _login(client, portal, citizen, password)

    response = client.get(
        "/logout?"
        + urlencode({"id_token_hint": tokens["id_token"], "state": "bye", "post_logout_redirect_uri": LOGOUT_URI})
    )

    assert response.status_code == 303 and response.headers["location"] == LOGOUT_URI + "?state=bye"
    silent = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), prompt="none")))
    assert query_of(silent.headers["location"])["error"] == "login_required"
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("hint", [None, "forged.token.value"])
def test_a_missing_or_forged_hint_asks_first_and_never_redirects(client, provider, hint):
    portal = add_portal(provider, post_logout_redirect_uris=[LOGOUT_URI])
    citizen, password = add_citizen(provider)
    _login(client, portal, citizen, password)
    params = {"post_logout_redirect_uri": LOGOUT_URI, "state": "s"}
    if hint:
        params["id_token_hint"] = hint

    asked = client.get("/logout?" + urlencode(params))
    done = client.post(
        form_action(asked.text, "/logout"),
        data={"csrf_token": csrf_of(asked.text), **dict(re.findall(r'name="(\w+)" value="([^"]*)"', asked.text))},
    )

    assert asked.status_code == 200 and 'name="csrf_token"' in asked.text
    assert done.status_code == 200 and "location" not in done.headers


def test_an_unregistered_post_logout_uri_is_never_followed(client, provider):
    portal = add_portal(provider, post_logout_redirect_uris=[LOGOUT_URI])
    citizen, password = add_citizen(provider)
    tokens = _login(client, portal, citizen, password)

    response = client.get(
        "/logout?" + urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT_URI + "/extra"})
    )

    assert response.status_code == 200 and "location" not in response.headers


@pytest.mark.outbound_allow_private  # the portal listens on 127.0.0.1
def test_one_logout_ends_the_session_at_every_portal_by_back_channel(client, clock, provider, receivers):
    first = add_portal(provider, backchannel_logout_uri=receivers[0].uri, post_logout_redirect_uris=[LOGOUT_URI])
    second = add_portal(provider, backchannel_logout_uri=receivers[1].uri)
    citizen, password = add_citizen(provider)
    tokens = _login(client, first, citizen, password)
    _login(client, second, citizen, password)

    client.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"]}))

    for receiver, portal in zip(receivers, (first, second), strict=False):
        [logout_token] = receiver.wait(1)
        sdk = _portal_sdk(client, clock, portal)
        validated = sdk.validate_logout_token(logout_token)
        assert validated.sid
        with pytest.raises(ReplayedToken):
            sdk.validate_logout_token(logout_token)  # a replayed logout token is refused by the portal


@pytest.mark.outbound_allow_private  # the portal listens on 127.0.0.1
def test_a_portal_that_was_down_gets_the_logout_token_on_retry(client, clock, provider, receivers):
    portal = add_portal(provider, backchannel_logout_uri=receivers[0].uri)
    citizen, password = add_citizen(provider)
    tokens = _login(client, portal, citizen, password)
    receivers[0].down = True

    client.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"]}))
    time.sleep(0.5)
    receivers[0].down = False
    clock.advance(10)
    provider.wake_outbox()

    assert len(receivers[0].wait(1)) == 1


@pytest.mark.outbound_allow_private  # the portal listens on 127.0.0.1
def test_a_portal_down_for_an_hour_gets_a_logout_token_it_still_accepts(client, clock, provider, receivers):
    """The token's `exp` is two minutes; the outbox retries for a day: it is signed again as it leaves."""
    portal = add_portal(provider, backchannel_logout_uri=receivers[0].uri)
    citizen, password = add_citizen(provider)
    tokens = _login(client, portal, citizen, password)
    receivers[0].down = True
    client.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"]}))
    time.sleep(0.5)

    receivers[0].down = False
    clock.advance(3600)
    provider.wake_outbox()
    [late] = receivers[0].wait(1)

    sdk = _portal_sdk(client, clock, portal)
    validated = sdk.validate_logout_token(late)
    assert validated.sid and validated.sub


def test_withdrawing_a_connected_service_ends_its_tokens(client, provider):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    tokens = _login(client, portal, citizen, password)
    account = client.get("/account")
    asked = client.get(f"/account/connected/withdraw?client_id={portal.client_id}")

    withdrawn = client.post(
        form_action(asked.text, "/account/connected/withdraw"),
        data={"csrf_token": csrf_of(asked.text), "client_id": portal.client_id, "confirm": "yes"},
    )

    assert "Cổng thử nghiệm" in account.text and 'id="connected"' in account.text
    assert withdrawn.status_code == 200 and 'id="connected"' not in withdrawn.text
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"
    again = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), prompt="none")))
    assert query_of(again.headers["location"])["error"] == "consent_required"
