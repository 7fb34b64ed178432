"""The worker's asyncio runner, as the app's lifespan starts it."""

from __future__ import annotations

import asyncio
import time

from idp.delivery import Message


async def _until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return False


def test_the_running_worker_sends_a_new_message_as_soon_as_it_is_woken(settings, clock, outbox, make_worker):
    worker = make_worker()
    outfile = settings.data_dir / "outbox.jsonl"

    async def scenario() -> tuple[bool, float]:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, poll_interval=60))
        await asyncio.sleep(0.2)  # the first, empty drain
        outbox.enqueue(
            Message(channel="sms", to="+84912345678", purpose="login", text="Mã 123456", code="123456"), clock.now()
        )
        worker.wake()
        delivered = await _until(outfile.exists, timeout=5)
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(task, timeout=5)
        return delivered, time.monotonic() - started

    delivered, stopping = asyncio.run(scenario())

    assert delivered
    assert stopping < 1


def test_the_running_worker_drains_on_its_own_every_poll_interval(settings, clock, outbox, make_worker):
    worker = make_worker()
    outfile = settings.data_dir / "outbox.jsonl"

    async def scenario() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, poll_interval=0.1))
        await asyncio.sleep(0.2)
        outbox.enqueue(
            Message(channel="sms", to="+84912345678", purpose="login", text="Mã 123456", code="123456"), clock.now()
        )
        delivered = await _until(outfile.exists, timeout=5)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        return delivered

    assert asyncio.run(scenario())
