"""The outbox on SQLite and PostgreSQL: enqueue, drain through the console sender, leases, redaction."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import text

from idp.delivery import Message, lease_for

CODE = "482913"
TEXT = f"Mã xác nhận PostID của bạn là {CODE}. Không chia sẻ mã này."


def sms(to: str = "+84912345678", purpose: str = "register", text: str = TEXT, code: str | None = CODE) -> Message:
    return Message(channel="sms", to=to, purpose=purpose, text=text, code=code)


def console_lines(settings) -> list[str]:
    path = settings.data_dir / "outbox.jsonl"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_enqueue_then_drain_with_the_console_sender_writes_the_exact_json_line_and_redacts_the_row(
    provider, settings, clock, outbox, make_worker
):
    message_id = outbox.enqueue(sms(), clock.now())
    worker = make_worker()

    attempted = worker.drain_once(clock.now())

    assert attempted == 1
    assert console_lines(settings) == [
        '{"to": "+84912345678", "channel": "sms", "purpose": "register", "code": "482913", '
        '"text": "Mã xác nhận PostID của bạn là 482913. Không chia sẻ mã này.", "at": "2027-01-15T08:00:00Z"}'
    ]
    record = outbox.get(message_id)
    assert (record.status, record.text, record.code, record.finished_at) == ("sent", None, None, clock.now())
    assert record.redacted_text == "Mã xác nhận PostID của bạn là ******. Không chia sẻ mã này."
    with provider.store.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM outbox")).one()
    assert not any(CODE in str(value) for value in row)


def test_a_drained_message_is_not_sent_again_by_the_next_drain(settings, clock, outbox, make_worker):
    outbox.enqueue(sms(), clock.now())
    worker = make_worker()
    worker.drain_once(clock.now())
    clock.advance(3600)

    attempted = worker.drain_once(clock.now())

    assert attempted == 0
    assert len(console_lines(settings)) == 1


def test_an_email_without_a_code_goes_to_the_console_with_a_null_code(settings, clock, outbox, make_worker):
    outbox.enqueue(
        Message(channel="email", to="binh@example.org", purpose="notice", text="Tài khoản đã được xác minh."),
        clock.now(),
    )

    make_worker().drain_once(clock.now())

    line = json.loads(console_lines(settings)[0])
    assert (line["channel"], line["to"], line["code"], line["purpose"]) == ("email", "binh@example.org", None, "notice")


def test_a_crash_between_claim_and_send_is_retried_after_the_lease_expires(settings, clock, outbox, make_worker):
    message_id = outbox.enqueue(sms(), clock.now())
    lease = lease_for(settings.delivery_timeout)
    crashed = outbox.claim_due(clock.now(), lease)  # a worker that claimed, then died
    worker = make_worker()

    during_lease = worker.drain_once(clock.now())
    clock.advance(lease)
    after_lease = worker.drain_once(clock.now())

    assert [r.id for r in crashed] == [message_id]
    assert (during_lease, after_lease) == (0, 1)
    assert len(console_lines(settings)) == 1
    record = outbox.get(message_id)
    assert (record.status, record.attempts) == ("sent", 2)


def test_a_message_whose_workers_keep_dying_fails_once_its_attempts_are_used_up(settings, clock, outbox, make_worker):
    message_id = outbox.enqueue(sms(), clock.now())
    for _ in range(2):
        outbox.claim_due(clock.now(), lease=60)
        clock.advance(60)

    make_worker(delivery_max_attempts=2).drain_once(clock.now())

    record = outbox.get(message_id)
    assert (record.status, record.text, record.code) == ("failed", None, None)
    assert "interrupted" in record.last_error
    assert console_lines(settings) == []


def test_a_worker_whose_lease_ran_out_cannot_finish_the_message(clock, outbox):
    message_id = outbox.enqueue(sms(), clock.now())
    [late] = outbox.claim_due(clock.now(), lease=60)
    clock.advance(61)
    [current] = outbox.claim_due(clock.now(), lease=60)

    late_finished = outbox.mark_sent(message_id, late.claim_token, clock.now())
    current_finished = outbox.mark_sent(message_id, current.claim_token, clock.now())

    assert (late_finished, current_finished) == (False, True)


def test_a_message_is_not_claimed_before_it_is_due(clock, outbox):
    message_id = outbox.enqueue(sms(), clock.now())
    [claimed] = outbox.claim_due(clock.now(), lease=60)
    outbox.retry_later(message_id, claimed.claim_token, "busy", clock.now() + 10)
    clock.advance(9)

    early = outbox.claim_due(clock.now(), lease=60)
    clock.advance(1)
    due = outbox.claim_due(clock.now(), lease=60)

    assert early == []
    assert [r.id for r in due] == [message_id]
    assert due[0].last_error == "busy"


def test_of_eight_racing_claimers_of_one_due_message_exactly_one_gets_it(clock, outbox):
    outbox.enqueue(sms(), clock.now())
    barrier = Barrier(8)

    def claim(_: int) -> int:
        barrier.wait()
        return len(outbox.claim_due(clock.now(), lease=60))

    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(claim, range(8)))

    assert sorted(claimed) == [0] * 7 + [1]


def test_console_lines_from_parallel_senders_never_interleave(settings, clock):
    from idp.delivery import ConsoleSender

    senders = [ConsoleSender(settings.data_dir, clock) for _ in range(8)]
    long_text = "Thông báo " + "ư" * 4000

    def send_many(sender: ConsoleSender) -> None:
        for _ in range(25):
            sender.send(Message(channel="sms", to="+84912345678", purpose="notice", text=long_text))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send_many, senders))

    lines = console_lines(settings)
    assert len(lines) == 200
    assert all(json.loads(line)["text"] == long_text for line in lines)
