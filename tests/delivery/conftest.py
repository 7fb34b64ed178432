"""Delivery fixtures: the outbox on the test's database, workers built from settings, a fake SMS
gateway (a real HTTP server on 127.0.0.1) and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from idp.core.provider import Provider
from idp.delivery import OutboxWorker, senders_from_settings
from idp.settings import Settings
from idp.store.outbox import OutboxRepository
from tests.delivery.servers import (
    GATEWAY_TOKEN,
    FakeGateway,
    GatewayHandler,
    GatewayServer,
    Mailbox,
    SmtpServer,
)
from tests.helpers import free_port


@pytest.fixture
def outbox(provider: Provider) -> OutboxRepository:
    return provider.store.outbox


@pytest.fixture
def make_worker(provider: Provider, outbox: OutboxRepository) -> Iterator[Callable[..., OutboxWorker]]:
    """Builds a worker from the test's settings plus overrides; each gets its own senders."""
    workers: list[OutboxWorker] = []

    def make(settings: Settings | None = None, **overrides: Any) -> OutboxWorker:
        chosen = (settings or provider.settings).with_overrides(**overrides)
        worker = OutboxWorker.from_settings(
            outbox, senders_from_settings(chosen, provider.clock), chosen, provider.clock
        )
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    server = GatewayServer(("127.0.0.1", 0), GatewayHandler)
    server.gateway = FakeGateway(url=f"http://127.0.0.1:{server.server_address[1]}/sms")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.gateway
    server.gateway.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def sms_settings(settings: Settings, gateway: FakeGateway) -> Settings:
    return settings.with_overrides(
        sms_backend="http",
        sms_gateway_url=gateway.url,
        sms_gateway_token=GATEWAY_TOKEN,
        sms_brandname="PostID",
        delivery_timeout=1,
        delivery_max_attempts=3,
    )


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SmtpServer(controller.port, mailbox)
    controller.stop()
