"""Request bodies are limited while they stream in, for every route, before any parser runs:
a too-long body costs the provider at most a few buffers, never its whole size."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from idp.app import create_app
from idp.core.policy import BODY_LIMITS
from idp.http.body_limit import BodyLimit
from tests.admin.conftest import add_staff, log_in
from tests.helpers import free_port

FIFTY_MB = 50 * 1024 * 1024
CHUNK = 16 * 1024
# What the provider pulls from uvicorn for a refused body: the limit, and the last message that
# passed it, which holds what uvicorn buffered meanwhile (it pauses reading past 64 KiB).
PULLED_AT_MOST = 64 * 1024 + 192 * 1024
# What the client may still push into the loopback's socket buffers (tcp_wmem up to 4 MiB, and the
# server's receive window) before the close reaches it: far below the body, not a measure of it.
YIELDED_AT_MOST = 16 * 1024 * 1024


@contextmanager
def served(app) -> Iterator[str]:
    """The app behind a real uvicorn on 127.0.0.1, in a thread of this process."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Counted:
    """A 50 MB chunked body that counts what the server made it yield."""

    def __init__(self, filler: bytes = b"[") -> None:
        self.yielded = 0
        self.filler = filler

    def __iter__(self) -> Iterator[bytes]:
        while self.yielded < FIFTY_MB:
            self.yielded += CHUNK
            yield self.filler * CHUNK


def post_chunked(url: str, body: Counted, headers: dict[str, str]) -> httpx.Response | None:
    """None when the server closed before the client saw an answer (also a refusal that read little)."""
    try:
        return httpx.post(url, content=iter(body), headers=headers, timeout=30)
    except httpx.TransportError:
        return None


class Pulled:
    """Wraps the provider where uvicorn hands it the body, counting the bytes the provider took."""

    def __init__(self, app) -> None:
        self.app = app
        self.bytes = 0

    async def __call__(self, scope, receive, send) -> None:
        async def counting_receive():
            message = await receive()
            self.bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counting_receive, send)


@pytest.fixture
def pulled(provider) -> Pulled:
    return Pulled(create_app(provider))


@pytest.fixture
def live(pulled) -> Iterator[str]:
    with served(pulled) as base:
        yield base


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/registrations", "application/json"),
        ("/api/registrations/abc/verify", "application/json"),
        ("/token", "application/x-www-form-urlencoded"),
        ("/register", "application/x-www-form-urlencoded"),
    ],
)
def test_a_50_mb_chunked_body_is_cut_off_after_the_limit_not_read_to_the_end(live, pulled, path, content_type):
    body = Counted()

    response = post_chunked(live + path, body, {"Content-Type": content_type})

    assert pulled.bytes <= PULLED_AT_MOST, f"the provider read {pulled.bytes} bytes of a refused body"
    assert body.yielded < YIELDED_AT_MOST, f"the client sent {body.yielded} bytes before the close"
    assert response is None or response.status_code == 413


def test_the_admin_api_stops_reading_a_50_mb_body_from_a_signed_in_administrator(live, pulled, provider, clock):
    created = add_staff(provider, "big-body-admin", "admin")
    member = log_in(provider, clock, "big-body-admin", created.totp_secret)
    body = Counted()

    response = post_chunked(
        live + "/admin/api/clients",
        body,
        {
            "Content-Type": "application/json",
            "Cookie": f"__Host-idp_staff={member.cookie}",
            "X-CSRF-Token": member.csrf,
        },
    )

    assert pulled.bytes <= PULLED_AT_MOST and body.yielded < YIELDED_AT_MOST
    assert response is None or (response.status_code == 413 and response.json()["error"] == "invalid_request")


def test_the_refusal_reaches_the_client_as_a_413_json_error(live):
    body = Counted()

    response = post_chunked(live + "/api/registrations", body, {"Content-Type": "application/json"})

    assert response is not None, "the 413 was lost"
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
    assert response.headers["connection"] == "close"


def _raw(base: str, head: bytes) -> bytes:
    """Send only a request head (no body) and read the answer until the server closes."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("path", ["/api/registrations", "/admin/api/clients", "/token", "/par", "/register"])
def test_a_declared_150_mb_body_is_refused_before_a_byte_of_it_is_sent(live, path):
    answer = _raw(
        live,
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {150 * 1024 * 1024}\r\n\r\n".encode(),
    )

    assert answer.startswith(b"HTTP/1.1 413 ")


def test_the_registration_api_takes_a_tighter_limit_from_the_policy(client):
    limit = BODY_LIMITS["/api/registrations"]

    response = client.post(
        "/api/registrations",
        content=b'{"full_name": "' + b"a" * limit + b'"}',
        headers={"Content-Type": "application/json"},
    )

    assert limit < 64 * 1024
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"


def test_a_page_answers_a_too_long_body_with_a_page(client):
    response = client.post(
        "/register", content=b"a=" + b"b" * 100_000, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 413 and response.headers["content-type"].startswith("text/html")


def _streamed(headers: list[tuple[bytes, bytes]], http_version: str, chunks: int) -> tuple[int, int]:
    """A body of `chunks` 16 KiB messages handed to the body limit (1 MiB here) by an ASGI server
    that frames it its own way; the status answered and the bytes the app behind it read."""
    read = 0

    async def reads_everything(scope, receive, send) -> None:
        nonlocal read
        while True:
            message = await receive()
            read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent = 0
    answers: list[dict] = []

    async def receive() -> dict:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": sent < chunks}

    async def send(message: dict) -> None:
        answers.append(message)

    scope = {"type": "http", "method": "POST", "path": "/token", "http_version": http_version, "headers": headers}
    asyncio.run(BodyLimit(reads_everything, max_bytes=1024 * 1024)(scope, receive, send))
    return answers[0]["status"], read


@pytest.mark.parametrize(
    ("headers", "http_version"),
    [
        # A small Content-Length beside Transfer-Encoding (the shape of request smuggling): a
        # server that frames by the chunks may deliver far more than the length says.
        ([(b"content-length", b"10"), (b"transfer-encoding", b"chunked")], "1.1"),
        ([(b"transfer-encoding", b"chunked")], "1.1"),
        ([], "2"),  # HTTP/2 needs no Content-Length for a body
    ],
)
def test_a_body_not_framed_by_its_content_length_is_still_counted_and_cut_off(headers, http_version):
    status, read = _streamed(headers, http_version, chunks=200)  # 3.2 MiB

    assert status == 413
    assert read <= 1024 * 1024


def test_a_body_framed_by_its_content_length_reaches_the_route_whole():
    status, read = _streamed([(b"content-length", str(4 * CHUNK).encode())], "1.1", chunks=4)

    assert (status, read) == (204, 4 * CHUNK)
