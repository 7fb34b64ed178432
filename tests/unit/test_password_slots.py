"""Password work runs in threads of its own (`PasswordSlots`): at most IDP_PASSWORD_WORKERS at once,
and a thread that finishes takes the next waiting hash itself, without the event loop: in a login
storm the loop is busy serving every other request, and hashes that waited on it left argon2's
threads idle."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from idp.http.offload import PasswordSlots

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


WAIT = 10  # seconds: a bound for a wait that should end at once, never reached when the rule holds


async def test_the_next_hash_starts_while_the_event_loop_is_busy():
    slots = PasswordSlots(1)
    first_started, first_may_end, second_started = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        first_started.set()
        first_may_end.wait(WAIT)

    first_call = asyncio.create_task(slots.run(first))
    second_call = asyncio.create_task(slots.run(second_started.set))
    await asyncio.to_thread(first_started.wait, WAIT)
    # The loop is held here, synchronously, as a busy loop would be: the second hash must start anyway.
    first_may_end.set()
    started_without_the_loop = second_started.wait(WAIT)
    await asyncio.gather(first_call, second_call)
    slots.close()
    assert started_without_the_loop


async def test_no_more_hashes_run_at_once_than_there_are_slots():
    slots = PasswordSlots(2)
    running, most, lock = 0, 0, threading.Lock()
    two_in, release = threading.Barrier(2, timeout=WAIT), threading.Event()

    def hash_like(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if i < 2:
            two_in.wait()  # the first two are in together
            release.wait(WAIT)
        with lock:
            running -= 1
        return i

    calls = [asyncio.create_task(slots.run(hash_like, i)) for i in range(5)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*calls) == [0, 1, 2, 3, 4]
    slots.close()
    assert most == 2


async def test_work_sees_the_callers_context_and_runs_again_after_close():
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
    request_id.set("r-42")
    slots = PasswordSlots(1)
    assert await slots.run(request_id.get) == "r-42"
    slots.close()
    assert await slots.run(request_id.get) == "r-42"
    slots.close()
