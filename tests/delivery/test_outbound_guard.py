"""Issue 13, item 8: requests to URLs a portal registered (its JWKS, its back-channel logout URI)
never reach the provider's own network unless IDP_OUTBOUND_ALLOW_PRIVATE says so (SSRF).

The servers here are real, on 127.0.0.1: with the guard on they must never see a request. A name
that resolves to loopback (what DNS rebinding turns a public name into) is refused on the address
the connection is made to, after registration accepted the name.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from idp.core.client_spec import ClientSpec, validate
from idp.crypto.jwts import BadToken
from idp.delivery.backchannel import BackchannelSender
from idp.delivery.client_jwks import JwksFetcher
from idp.delivery.errors import DeliveryFailed
from idp.delivery.message import Message
from idp.errors import ValidationError
from idp.settings import Settings, is_internal

JWKS = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k1"}]}


class Portal:
    """A portal on 127.0.0.1 that serves a JWKS, takes logout tokens, and notes every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.huge_bytes_sent = 0
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                portal.requests.append(self.path)
                if self.path == "/huge.json":  # a key set that never ends, 64 KiB at a time
                    self.send_response(200)
                    self.end_headers()
                    try:
                        for _ in range(1600):  # 100 MiB
                            self.wfile.write(b" " * 65536)
                            portal.huge_bytes_sent += 65536
                    except OSError:
                        pass  # the fetcher hung up
                    return
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/jwks.json")
                    self.end_headers()
                    return
                body = json.dumps(JWKS).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                portal.requests.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def portal() -> Iterator[Portal]:
    made = Portal()
    yield made
    made.server.shutdown()
    made.server.server_close()


def _fetcher(clock, allow_private: bool) -> JwksFetcher:
    return JwksFetcher(
        clock, cache_seconds=300, refetch_at_most_every=60, timeout=2, max_bytes=65536, allow_private=allow_private
    )


def _logout(to: str) -> Message:
    return Message(channel="logout", to=to, purpose="logout", text="header.claims.signature")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",  # shared address space (carrier NAT)
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
    ],
)
def test_internal_addresses_are_recognised(address):
    assert is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_not_internal(address):
    assert not is_internal(ipaddress.ip_address(address))


def test_the_default_settings_refuse_internal_targets():
    assert Settings().outbound_allow_private is False
    assert Settings.from_env({"IDP_OUTBOUND_ALLOW_PRIVATE": "true"}).outbound_allow_private is True


def test_the_default_jwks_fetch_to_loopback_is_refused_and_never_reaches_it(clock, portal):
    with pytest.raises(BadToken, match="internal address"):
        _fetcher(clock, allow_private=False).fetch(portal.url("127.0.0.1", "/jwks.json"))

    assert portal.requests == []


def test_a_name_resolving_to_loopback_is_refused_on_the_connection_itself(clock, portal, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):  # a public-looking name whose DNS now says 127.0.0.1
        return real("127.0.0.1" if host == "jwks.portal.example" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    registered = validate(
        ClientSpec(name="P", redirect_uris=["https://portal.example/cb"], jwks_uri="https://jwks.portal.example/k")
    )

    with pytest.raises(BadToken, match="internal address"):
        _fetcher(clock, allow_private=False).fetch(f"http://jwks.portal.example:{portal.port}/jwks.json")

    assert registered.jwks_uri == "https://jwks.portal.example/k"  # a name passes registration ...
    assert portal.requests == []  # ... and is refused where it resolves


def test_the_allow_setting_lets_a_development_portal_on_loopback_be_fetched(clock, portal):
    fetched = _fetcher(clock, allow_private=True).fetch(portal.url("127.0.0.1", "/jwks.json"))

    assert fetched == JWKS and portal.requests == ["/jwks.json"]


def test_a_huge_jwks_is_refused_while_it_arrives_not_after_it_was_read(clock, portal):
    """The cap was checked on the whole body, so a portal's endless key set was read to its end."""
    with pytest.raises(BadToken, match="larger than"):
        _fetcher(clock, allow_private=True).fetch(portal.url("127.0.0.1", "/huge.json"))

    time.sleep(0.5)  # the server notices the closed connection
    assert portal.huge_bytes_sent < 32 * 1024 * 1024, portal.huge_bytes_sent  # kernel buffers, not 100 MiB


def test_a_redirect_from_a_jwks_uri_is_not_followed(clock, portal):
    with pytest.raises(BadToken, match="HTTP 302"):
        _fetcher(clock, allow_private=True).fetch(portal.url("127.0.0.1", "/moved"))

    assert portal.requests == ["/moved"]


def test_the_default_back_channel_logout_to_loopback_fails_for_good_and_never_reaches_it(portal):
    sender = BackchannelSender(2)

    with pytest.raises(DeliveryFailed) as refused:
        sender.send(_logout(portal.url("localhost", "/backchannel-logout")))
    sender.close()

    assert refused.value.retryable is False and "internal address" in str(refused.value)
    assert portal.requests == []


def test_the_allow_setting_lets_a_back_channel_logout_reach_loopback(portal):
    sender = BackchannelSender(2, allow_private=True)

    sender.send(_logout(portal.url("127.0.0.1", "/backchannel-logout")))
    sender.close()

    assert portal.requests == ["/backchannel-logout"]


@pytest.mark.parametrize("field", ["jwks_uri", "backchannel_logout_uri"])
@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:8001/x", "https://10.0.0.5/x", "https://169.254.169.254/latest", "https://[::1]/x"]
)
def test_registration_refuses_a_literal_internal_address_by_default(field, uri):
    spec = ClientSpec(name="P", redirect_uris=["https://portal.example/cb"], **{field: uri})

    with pytest.raises(ValidationError) as refused:
        validate(spec)
    allowed = validate(spec, allow_internal_targets=True)

    assert (refused.value.field, refused.value.code) == (field, "internal_address")
    assert getattr(allowed, field) == uri
