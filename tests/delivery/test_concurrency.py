"""Several workers on one outbox, as in several provider processes behind a load balancer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from idp.delivery import Message


def test_two_workers_draining_the_same_outbox_concurrently_send_each_message_exactly_once(
    sms_settings, clock, outbox, gateway, make_worker
):
    gateway.delay = 0.005
    ids = {
        outbox.enqueue(
            Message(channel="sms", to=f"+8491234{n:04d}", purpose="login", text=f"Mã {n:06d}", code=f"{n:06d}"),
            clock.now(),
        )
        for n in range(30)
    }
    workers = [make_worker(sms_settings) for _ in range(2)]
    barrier = Barrier(2)

    def drain(worker) -> int:
        barrier.wait()
        return worker.drain_once(clock.now())

    with ThreadPoolExecutor(2) as pool:
        attempted = list(pool.map(drain, workers))

    sent_ids = [r.body["id"] for r in gateway.received]
    assert sum(attempted) == 30
    assert sorted(sent_ids) == sorted(ids)
    assert all(outbox.get(i).status == "sent" for i in ids)
