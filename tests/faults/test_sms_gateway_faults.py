"""The SMS gateway failing the way an operator meets it: slower than a lease with two provider
processes sending from one database, slower than the send timeout, down for an hour.

The gateway is a real HTTP server on 127.0.0.1 that recognises a repeated `Idempotency-Key`, as
gateways that take the header do: what it counts as delivered is one message per key. Time on the
provider's side is the injected clock, which the gateway moves forward as it "works", so a slow or
long outage costs the test milliseconds, not hours.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import REGISTRY

from idp.clock import FixedClock
from idp.core import notify, registration
from idp.core.accounts import CitizenDeclaration
from idp.delivery import Message, OutboxWorker, lease_for, senders_from_settings
from idp.settings import Settings
from tests.delivery.servers import GATEWAY_TOKEN, FakeGateway, GatewayHandler, GatewayServer, Received
from tests.helpers import add_citizen

pytestmark = pytest.mark.faults

NEWCOMER = CitizenDeclaration(
    id_number="079303001234",
    full_name="Phạm Minh Châu",
    birth_date="2003-04-05",
    sex="female",
    phone="0987 654 321",
)
NEWCOMER_PHONE = "+84987654321"


@dataclass
class IdempotentGateway(FakeGateway):
    """Delivers each `Idempotency-Key` once and counts the repeats. While `down_until` lies ahead on
    the provider's clock it answers 503; each POST moves that clock by `seconds_per_send`; the first
    POST of a key may be held `first_post_delay` wall seconds (longer than the sender waits)."""

    clock: FixedClock | None = None
    seconds_per_send: int = 0
    down_until: int = 0
    first_post_delay: float = 0.0
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts_by_key: dict[str, int] = field(default_factory=dict)
    keyless: int = 0

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> int:
        with self.lock:
            self.received.append(Received(headers, body))
            key = headers.get("idempotency-key")
            if key is None:
                self.keyless += 1
                key = f"body-id:{body.get('id')}"
            seen = self.posts_by_key.get(key, 0)
            self.posts_by_key[key] = seen + 1
            if self.first_post_delay:
                self.delay = self.first_post_delay if seen == 0 else 0.0
            assert self.clock is not None
            if self.clock.now() < self.down_until:
                return 503
            self.clock.advance(self.seconds_per_send)
            self.delivered.setdefault(key, body)
            return 200

    @property
    def duplicates(self) -> int:
        """POSTs of a key the gateway had already delivered (or already held)."""
        return sum(count - 1 for count in self.posts_by_key.values())


@pytest.fixture
def gateway(clock: FixedClock) -> Iterator[IdempotentGateway]:
    server = GatewayServer(("127.0.0.1", 0), GatewayHandler)
    server.gateway = IdempotentGateway(url=f"http://127.0.0.1:{server.server_address[1]}/sms", clock=clock)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.gateway  # type: ignore[misc]
    server.gateway.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def make_worker(provider, gateway: IdempotentGateway) -> Iterator[Callable[..., OutboxWorker]]:
    """A worker as one provider process builds it, sending SMS to the test's gateway."""
    workers: list[OutboxWorker] = []

    def make(**overrides: Any) -> OutboxWorker:
        chosen: Settings = provider.settings.with_overrides(
            sms_backend="http", sms_gateway_url=gateway.url, sms_gateway_token=GATEWAY_TOKEN, **overrides
        )
        worker = OutboxWorker.from_settings(
            provider.store.outbox, senders_from_settings(chosen, provider.clock), chosen, provider.clock
        )
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


def _given_up(reason: str, purpose: str) -> float:
    labels = {"channel": "sms", "purpose": purpose, "reason": reason}
    return REGISTRY.get_sample_value("idp_outbox_given_up_total", labels) or 0.0


def _pending(provider, ids: set[str]) -> set[str]:
    return {i for i in ids if provider.store.outbox.get(i).status == "pending"}


def test_a_gateway_slower_than_a_batch_lease_with_two_workers_delivers_no_code_twice(
    provider, clock, gateway, make_worker
):
    gateway.seconds_per_send = 8  # 7.5 s a send, as measured, on the provider's clock
    gateway.delay = 0.005
    ids = {
        provider.store.outbox.enqueue(
            Message(channel="sms", to=f"+8491234{n:04d}", purpose="login", text=f"Ma {n:06d}", code=f"{n:06d}"),
            clock.now(),
        )
        for n in range(20)
    }
    workers = [make_worker(delivery_timeout=10) for _ in range(2)]  # a lease of lease_for(10) = 120 s
    deadline = time.monotonic() + 60

    def keep_draining(worker: OutboxWorker) -> None:
        while _pending(provider, ids) and time.monotonic() < deadline:
            worker.drain_once(clock.now())
            time.sleep(0.002)

    threads = [threading.Thread(target=keep_draining, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(70)

    assert lease_for(10) < 20 * gateway.seconds_per_send  # one batch of 20 would outlive its lease
    assert _pending(provider, ids) == set()
    assert (gateway.keyless, gateway.duplicates, len(gateway.delivered)) == (0, 0, 20)
    assert {body["id"] for body in gateway.delivered.values()} == ids
    assert all(r.headers["idempotency-key"] == r.body["id"] for r in gateway.received)


def test_a_send_slower_than_the_timeout_is_retried_with_the_same_idempotency_key(provider, clock, gateway, make_worker):
    gateway.first_post_delay = 1.5  # the gateway delivers, but answers after the sender gave up
    ids = [
        provider.store.outbox.enqueue(
            Message(channel="sms", to=f"+8491234{n:04d}", purpose="notice", text=f"Thong bao {n}"), clock.now()
        )
        for n in range(2)
    ]
    worker = make_worker(delivery_timeout=1)
    started = time.monotonic()

    worker.drain_once(clock.now())
    clock.advance(60)
    worker.drain_once(clock.now())

    assert time.monotonic() - started < 10
    assert [provider.store.outbox.get(i).status for i in ids] == ["sent", "sent"]
    assert sorted(gateway.posts_by_key) == sorted(ids)  # every POST carried the message's own key
    assert (gateway.duplicates, len(gateway.delivered)) == (2, 2)  # each repeat recognisable as one


def _drain_through(worker: OutboxWorker, clock: FixedClock, until: int, step: int = 15) -> int:
    drains = 0
    while clock.now() < until:
        worker.drain_once(clock.now())
        drains += 1
        clock.advance(step)
    return drains


def _to(gateway: IdempotentGateway, phone: str) -> list[dict[str, Any]]:
    return [body for body in gateway.delivered.values() if body["to"] == phone]


def test_a_gateway_down_for_an_hour_still_delivers_the_notice_and_drops_the_expired_code_with_a_metric_and_a_log(
    provider, clock, gateway, make_worker, caplog
):
    citizen, _ = add_citizen(provider)
    notify.send(provider, channel="sms", to=citizen.phone, purpose="notice", text="PostID: mat khau da doi.")
    registration.register(provider, NEWCOMER, "mây trắng bay qua đồi xanh", client_ip="10.0.0.1", lang="vi")
    gateway.down_until = clock.now() + 3600
    worker = make_worker(delivery_timeout=1)
    expired_before = _given_up("expired", "register")
    caplog.set_level(logging.INFO, logger="idp.delivery")

    _drain_through(worker, clock, gateway.down_until + 600)

    assert [body["text"] for body in _to(gateway, citizen.phone)] == ["PostID: mat khau da doi."]
    assert _to(gateway, NEWCOMER_PHONE) == []  # never sent after it expired
    assert _given_up("expired", "register") == expired_before + 1
    given_up = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert len(given_up) == 1 and "(sms, register) given up (expired)" in given_up[0]
    notice_posts = gateway.posts_by_key[next(k for k, b in gateway.delivered.items() if b["to"] == citizen.phone)]
    assert notice_posts > 5  # the old schedule gave up after 5 tries, 185 s into the outage

    again = registration.register(
        provider, NEWCOMER, "mây trắng bay qua đồi xanh", client_ip="10.0.0.1", lang="vi"
    ).flow
    worker.drain_once(clock.now())

    assert again.flow_id and len(_to(gateway, NEWCOMER_PHONE)) == 1  # the flow expired: registering again works at once


def test_after_an_outage_that_outlived_a_code_the_citizens_resend_is_delivered_at_once(
    provider, clock, gateway, make_worker
):
    started = registration.register(
        provider, NEWCOMER, "mây trắng bay qua đồi xanh", client_ip="10.0.0.1", lang="vi"
    ).flow
    gateway.down_until = clock.now() + 600  # longer than the old 5 tries (185 s), shorter than the flow
    worker = make_worker(delivery_timeout=1)
    _drain_through(worker, clock, clock.now() + 120)
    registration.resend(provider, started.flow_id, started.secret, client_ip="10.0.0.1", lang="vi")  # during it
    _drain_through(worker, clock, gateway.down_until)
    assert _to(gateway, NEWCOMER_PHONE) == []

    registration.resend(provider, started.flow_id, started.secret, client_ip="10.0.0.1", lang="vi")
    worker.drain_once(clock.now())

    [delivered] = _to(gateway, NEWCOMER_PHONE)
    clock.advance(3600)
    _drain_through(worker, clock, clock.now() + 600)
    assert _to(gateway, NEWCOMER_PHONE) == [delivered]  # no earlier code follows it out


def test_a_code_still_valid_when_the_gateway_returns_is_delivered_and_completes_the_registration(
    provider, clock, gateway, make_worker
):
    started = registration.register(
        provider, NEWCOMER, "mây trắng bay qua đồi xanh", client_ip="10.0.0.1", lang="vi"
    ).flow
    gateway.down_until = clock.now() + 250  # past the old 5 tries (185 s), inside the code's 5 minutes
    worker = make_worker(delivery_timeout=1)

    _drain_through(worker, clock, gateway.down_until + 40, step=10)
    [delivered] = _to(gateway, NEWCOMER_PHONE)
    code = re.search(r"[0-9]{6}", delivered["text"])
    assert code is not None
    citizen, _ = registration.verify(provider, started.flow_id, started.secret, code.group())

    assert citizen.status == "active"
