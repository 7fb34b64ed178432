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


def test_a_claim_takes_no_more_due_messages_than_its_limit(clock, outbox):
    for n in range(5):
        outbox.enqueue(sms(to=f"+8491234{n:04d}"), clock.now())

    claimed = outbox.claim_due(clock.now(), lease=60, limit=2)
    one = outbox.claim_due(clock.now(), lease=60)

    assert (len(claimed), len(one)) == (2, 1)


def test_a_queued_message_is_stored_sealed_and_opens_only_in_the_claim(provider, clock, outbox):
    message_id = outbox.enqueue(sms(), clock.now())

    with provider.store.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM outbox")).mappings().one()
    [claimed] = outbox.claim_due(clock.now(), lease=60)

    assert not any(CODE in str(value) for value in row.values())
    assert row["sealed"].startswith("v1.") and row["text"] is None and row["code"] is None
    assert (claimed.id, claimed.text, claimed.code) == (message_id, TEXT, CODE)


def test_a_sealed_message_copied_into_another_row_does_not_open(provider, clock, outbox):
    first = outbox.enqueue(sms(to="+84912345678"), clock.now())
    second = outbox.enqueue(sms(to="+84987654321", text="Mã của bạn là 111111.", code="111111"), clock.now())
    with provider.store.engine.begin() as conn:
        sealed = conn.execute(text("SELECT sealed FROM outbox WHERE id = :i"), {"i": first}).scalar()
        conn.execute(text("UPDATE outbox SET sealed = :s WHERE id = :i"), {"s": sealed, "i": second})

    record = outbox.get(second)

    assert (record.text, record.code) == (None, None)


def test_a_newer_code_drops_the_waiting_ones_it_replaces_but_not_one_being_sent(clock, outbox):
    waiting = outbox.enqueue(sms(), clock.now(), replaces="code:register:flow-1")
    in_flight = outbox.enqueue(sms(), clock.now(), replaces="code:register:flow-1")
    other_flow = outbox.enqueue(sms(), clock.now(), replaces="code:register:flow-2")
    held = {r.id for r in outbox.claim_due(clock.now(), lease=60, limit=3)} - {other_flow}
    outbox.retry_later(waiting, outbox.get(waiting).claim_token, "busy", clock.now())
    assert held == {waiting, in_flight}

    dropped = outbox.drop_replaced("code:register:flow-1", clock.now())

    assert dropped == 1
    assert [outbox.get(i).status for i in (waiting, in_flight)] == ["failed", "pending"]
    assert outbox.get(waiting).last_error == "replaced"


def test_a_fresh_message_is_claimed_before_a_backlog_of_retries(clock, outbox):
    backlog = [outbox.enqueue(sms(to=f"+8491234{n:04d}"), clock.now()) for n in range(3)]
    for record in outbox.claim_due(clock.now(), lease=60, limit=3):
        outbox.retry_later(record.id, record.claim_token, "busy", clock.now() + 5)
    clock.advance(600)
    fresh = outbox.enqueue(sms(to="+84987654321"), clock.now())

    [first] = outbox.claim_due(clock.now(), lease=60)

    assert first.id == fresh and fresh not in backlog


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
