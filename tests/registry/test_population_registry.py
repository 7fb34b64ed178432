"""Registration against a fake population registry on 127.0.0.1: a match marks the number
registry-checked (still declared), a mismatch refuses, an unknown or an outage (an error, a
refused connection, an answer slower than the timeout) leaves it declared and the page says so."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from idp.core import audit, policy
from tests.helpers import (
    Pkce,
    add_portal,
    csrf_of,
    exchange,
    form_action,
    free_port,
    login_and_consent,
    path_of,
    sent_codes,
)

NEW = {
    "full_name": "Phạm Minh Châu",
    "citizen_id": "079303001234",
    "birth_date": "2003-04-05",
    "sex": "female",
    "phone": "0987 654 321",
    "email": "",
    "password": "mây trắng bay qua đồi xanh",
}
NEW_PHONE = "+84987654321"
TOKEN = "registry-test-token"
TIMEOUT = 0.5


class FakeRegistry:
    """Answers each POST as `mode` says: match | mismatch | unknown | error (HTTP 503) | slow
    (a match, after longer than the provider waits) | garbage (200 with a body outside the contract)."""

    def __init__(self) -> None:
        self.mode = "match"
        self.seen: list[tuple[dict[str, Any], str | None]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                registry.seen.append((body, self.headers.get("Authorization")))
                if registry.mode == "slow":
                    time.sleep(TIMEOUT * 4)
                if registry.mode == "error":
                    self._answer(503, b'{"error": "maintenance"}')
                elif registry.mode == "garbage":
                    self._answer(200, b'{"result": "probably"}')
                elif registry.mode == "oversized":  # a match, padded past the answer ceiling
                    self._answer(200, b'{"result": "match"' + b" " * 8192 + b"}")
                else:
                    result = "match" if registry.mode == "slow" else registry.mode
                    self._answer(200, json.dumps({"result": result}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the provider stopped waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/declarations/check"


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def settings(settings, registry):
    return settings.with_overrides(
        registry_backend="http", registry_url=registry.url, registry_token=TOKEN, registry_timeout=TIMEOUT
    )


def _api_register(client):
    return client.post("/api/registrations", json=NEW)


def _activate(client, provider, started):
    body = started.json()
    code = sent_codes(provider, NEW_PHONE, "register")[-1]
    done = client.post(
        f"/api/registrations/{body['flow_id']}/verify", json={"flow_secret": body["flow_secret"], "code": code}
    )
    assert done.status_code == 200, done.text
    return provider.store.citizens.find_holders(NEW["citizen_id"], NEW_PHONE)[0]


def _registered_event(provider) -> dict[str, Any]:
    """The detail of the last `citizen.registered` event."""
    return json.loads(provider.store.audit.search(audit.AuditFilter(action="citizen.registered"), limit=1)[0].detail)


def test_a_match_marks_the_number_registry_checked_but_not_verified(client, provider, registry):
    started = _api_register(client)
    citizen = _activate(client, provider, started)

    assert started.status_code == 202 and started.json()["registry"] == "match"
    assert citizen.registry_checked_at is not None and citizen.level == "LoA1"
    assert _registered_event(provider)["id_number"] == "registry_checked"
    assert _registered_event(provider)["registry"] == "match"


def test_the_registry_is_asked_the_contracts_four_fields_with_the_bearer_token(client, registry):
    _api_register(client)

    body, authorization = registry.seen[-1]
    assert body == {
        "number": "079303001234",
        "full_name": "Phạm Minh Châu",
        "birth_date": "2003-04-05",
        "sex": "female",
    }
    assert authorization == f"Bearer {TOKEN}"


def test_a_mismatch_refuses_the_registration_with_a_clear_message_and_sends_nothing(client, provider, registry):
    registry.mode = "mismatch"

    api = _api_register(client)
    form = client.get("/register?lang=en")
    page = client.post(form_action(form.text, "/register"), data={**NEW, "csrf_token": csrf_of(form.text)})

    assert api.status_code == 422 and api.json()["error"] == "registry_mismatch"
    assert page.status_code == 422 and "do not match the national population database" in page.text
    assert provider.store.citizens.find_holders(NEW["citizen_id"], NEW_PHONE) == []
    assert sent_codes(provider, NEW_PHONE, "register", at_least=0) == []
    refused = provider.store.audit.search(audit.AuditFilter(action="citizen.registration_refused"), limit=5)
    assert [json.loads(e.detail)["registry"] for e in refused] == ["mismatch", "mismatch"]


def test_an_unknown_number_stays_declared(client, provider, registry):
    registry.mode = "unknown"

    started = _api_register(client)
    citizen = _activate(client, provider, started)

    assert started.json()["registry"] == "unknown"
    assert citizen.registry_checked_at is None
    assert _registered_event(provider)["id_number"] == "declared"


@pytest.mark.parametrize("mode", ["error", "garbage", "oversized"])
def test_a_registry_error_degrades_to_declared_and_the_page_says_so(client, provider, registry, mode):
    registry.mode = mode

    form = client.get("/register?lang=en")
    started = client.post(form_action(form.text, "/register"), data={**NEW, "csrf_token": csrf_of(form.text)})
    verify_page = client.get(path_of(started.headers["location"]))

    assert started.status_code == 303 and "registry=unavailable" in started.headers["location"]
    assert "cannot be reached right now" in verify_page.text and "declared" in verify_page.text
    assert sent_codes(provider, NEW_PHONE, "register")  # the registration went on


def test_a_registry_that_is_down_degrades_to_declared(client, provider, settings):
    provider.registry = type(provider.registry)(
        f"http://127.0.0.1:{free_port()}/check", TOKEN, timeout=TIMEOUT, max_bytes=4096
    )

    started = _api_register(client)
    citizen = _activate(client, provider, started)

    assert started.status_code == 202 and started.json()["registry"] == "unavailable"
    assert citizen.registry_checked_at is None and _registered_event(provider)["registry"] == "unavailable"


def test_a_registry_slower_than_the_timeout_is_an_outage_and_the_citizen_does_not_wait_for_it(
    client, provider, registry
):
    registry.mode = "slow"

    began = time.monotonic()
    started = _api_register(client)
    took = time.monotonic() - began

    assert started.status_code == 202 and started.json()["registry"] == "unavailable"
    assert took < TIMEOUT * 3  # the fake answers only after TIMEOUT * 4
    assert _activate(client, provider, started).registry_checked_at is None


def test_one_address_cannot_put_questions_to_the_registry_in_bulk(client, registry):
    registry.mode = "mismatch"

    answers = [_api_register(client).status_code for _ in range(policy.REGISTRY_CHECKS_PER_IP_PER_DAY + 1)]

    assert answers == [422] * policy.REGISTRY_CHECKS_PER_IP_PER_DAY + [429]
    assert len(registry.seen) == policy.REGISTRY_CHECKS_PER_IP_PER_DAY


def test_a_portal_sees_a_registry_checked_number_as_checked_but_still_not_verified(client, provider, registry):
    citizen = _activate(client, provider, _api_register(client))
    portal = add_portal(provider, scopes=["openid", "citizen_id", "national_profile"])
    pkce = Pkce()
    code = login_and_consent(
        client, portal, citizen.id_number, NEW["password"], pkce, scope="openid citizen_id national_profile"
    )["code"]
    tokens = exchange(client, portal, code, pkce).json()

    claims = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()

    assert claims["citizen_id_registry_checked"] is True and claims["citizen_id_verified"] is False
    assert "SoDinhDanh" not in claims
