"""Real servers on 127.0.0.1 for the delivery tests: a fake SMS gateway (http.server) and an
SMTP mailbox (an aiosmtpd handler)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

GATEWAY_TOKEN = "gw-token-5f2c"


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeGateway:
    """Answers each POST with the next status in `answers` (then `otherwise`), after `delay` seconds."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    otherwise: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> int:
        with self.lock:
            self.received.append(Received(headers, body))
            return self.answers.pop(0) if self.answers else self.otherwise


class GatewayHandler(BaseHTTPRequestHandler):
    server: GatewayServer

    def do_POST(self) -> None:
        gateway = self.server.gateway
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = gateway.answer({k.lower(): v for k, v in self.headers.items()}, body)
        if gateway.delay:
            gateway.release.wait(gateway.delay)
        payload = json.dumps({"status": status}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: FakeGateway


class Mailbox:
    """An aiosmtpd handler keeping every envelope; recipients in `refused` get a 550."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refused: set[str] = set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
