"""The HTTP SMS gateway sender against a real (fake) gateway on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from idp.delivery import Message, backoff_delay
from tests.delivery.servers import GATEWAY_TOKEN
from tests.helpers import free_port

TEXT = "Mã đăng nhập PostID: 305118. Hết hạn sau 5 phút."


def sms(to: str = "+84912345678") -> Message:
    return Message(channel="sms", to=to, purpose="login", text=TEXT, code="305118")


def test_the_gateway_receives_the_message_as_json_with_the_bearer_token_and_brandname(
    sms_settings, clock, outbox, gateway, make_worker
):
    message_id = outbox.enqueue(sms(), clock.now())

    make_worker(sms_settings).drain_once(clock.now())

    [received] = gateway.received
    assert received.headers["authorization"] == f"Bearer {GATEWAY_TOKEN}"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["idempotency-key"] == message_id
    assert received.body == {"from": "PostID", "to": "+84912345678", "text": TEXT, "id": message_id}
    assert outbox.get(message_id).status == "sent"


@pytest.mark.parametrize("busy", [503, 429])
def test_a_busy_gateway_gets_the_message_on_the_drain_after_the_backoff_and_not_before(
    busy, sms_settings, clock, outbox, gateway, make_worker
):
    gateway.answers = [busy, 200]
    message_id = outbox.enqueue(sms(), clock.now())
    worker = make_worker(sms_settings)
    worker.drain_once(clock.now())

    clock.advance(backoff_delay(1) - 1)
    too_early = worker.drain_once(clock.now())
    requests_before_backoff = len(gateway.received)
    clock.advance(1)
    after_backoff = worker.drain_once(clock.now())

    assert (too_early, requests_before_backoff, after_backoff) == (0, 1, 1)
    assert [r.body["id"] for r in gateway.received] == [message_id, message_id]
    record = outbox.get(message_id)
    assert (record.status, record.attempts, record.text) == ("sent", 2, None)


def test_a_400_fails_the_message_for_good(sms_settings, clock, outbox, gateway, make_worker):
    gateway.answers = [400]
    message_id = outbox.enqueue(sms(), clock.now())
    worker = make_worker(sms_settings)

    worker.drain_once(clock.now())
    clock.advance(3600)
    worker.drain_once(clock.now())

    assert len(gateway.received) == 1
    record = outbox.get(message_id)
    assert (record.status, record.text, record.code) == ("failed", None, None)
    assert record.last_error == "the SMS gateway answered HTTP 400"


def test_a_gateway_slower_than_the_timeout_is_retried_later_and_the_drain_returns_within_the_timeout(
    sms_settings, clock, outbox, gateway, make_worker
):
    gateway.delay = 10
    message_id = outbox.enqueue(sms(), clock.now())
    worker = make_worker(sms_settings)
    started = time.monotonic()

    worker.drain_once(clock.now())

    assert time.monotonic() - started < sms_settings.delivery_timeout + 1.5
    record = outbox.get(message_id)
    assert (record.status, record.attempts, record.claimed_until) == ("pending", 1, None)
    assert record.next_attempt_at == clock.now() + backoff_delay(1)
    assert "in time" in record.last_error


def test_a_code_whose_expiry_comes_before_the_next_try_is_given_up_and_never_sent_late(
    sms_settings, clock, outbox, gateway, make_worker
):
    gateway.answers = [503]
    message_id = outbox.enqueue(sms(), clock.now(), give_up_at=clock.now() + 4)
    worker = make_worker(sms_settings)

    worker.drain_once(clock.now())
    clock.advance(60)
    later = worker.drain_once(clock.now())

    record = outbox.get(message_id)
    assert (len(gateway.received), later, record.status) == (1, 0, "failed")
    assert "deadline" in record.last_error


def test_a_message_found_past_its_deadline_is_given_up_without_a_send(
    sms_settings, clock, outbox, gateway, make_worker
):
    message_id = outbox.enqueue(sms(), clock.now(), give_up_at=clock.now() + 300)
    clock.advance(300)

    make_worker(sms_settings).drain_once(clock.now())

    assert gateway.received == []
    assert outbox.get(message_id).status == "failed"


def test_after_max_attempts_the_message_is_failed(sms_settings, clock, outbox, gateway, make_worker):
    gateway.otherwise = 503
    message_id = outbox.enqueue(sms(), clock.now())
    worker = make_worker(sms_settings)

    for attempt in range(1, sms_settings.delivery_max_attempts + 2):
        worker.drain_once(clock.now())
        clock.advance(backoff_delay(attempt))

    assert len(gateway.received) == sms_settings.delivery_max_attempts
    record = outbox.get(message_id)
    assert (record.status, record.attempts, record.text) == ("failed", sms_settings.delivery_max_attempts, None)


@pytest.mark.parametrize("to", ["+14155550123", "+842439330000", "+84112345678", "+8491234567", "+849123456789"])
def test_a_number_that_is_not_a_vietnamese_mobile_is_never_sent(to, sms_settings, clock, outbox, gateway, make_worker):
    message_id = outbox.enqueue(sms(to), clock.now())

    make_worker(sms_settings).drain_once(clock.now())

    assert gateway.received == []
    record = outbox.get(message_id)
    assert (record.status, record.last_error) == ("failed", "refused: not a Vietnamese mobile number")


def test_a_gateway_that_refuses_connections_is_retried_later(sms_settings, clock, outbox, make_worker):
    down = sms_settings.with_overrides(sms_gateway_url=f"http://127.0.0.1:{free_port()}/sms")
    message_id = outbox.enqueue(sms(), clock.now())

    make_worker(down).drain_once(clock.now())

    record = outbox.get(message_id)
    assert (record.status, record.attempts) == ("pending", 1)
    assert "unreachable" in record.last_error
