"""The outbox worker: claims due messages, sends them, and finishes or reschedules each one.

Pages only enqueue; this worker is the only thing that waits on a gateway. It runs in every
provider process; the outbox's leases make sure each message is sent by one of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from idp.clock import Clock
from idp.delivery.errors import DeliveryFailed, InvalidMessage
from idp.delivery.message import Message
from idp.delivery.senders import Sender
from idp.settings import Settings
from idp.store.outbox import OutboxRecord, OutboxRepository

log = logging.getLogger("idp.delivery")

RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 300
BATCH_SIZE = 20


def backoff_delay(attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: 5, 10, 20, … capped at 5 minutes."""
    return min(RETRY_BASE_SECONDS * (1 << max(attempts - 1, 0)), RETRY_CAP_SECONDS)


def lease_for(timeout: int) -> int:
    """How long a claim holds. Longer than the slowest send (an SMTP exchange is several
    round trips, each allowed the timeout), or a second worker would send the message again."""
    return 60 + 6 * timeout


class OutboxWorker:
    def __init__(
        self,
        outbox: OutboxRepository,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        max_attempts: int,
        lease: int,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._outbox = outbox
        self._senders = senders
        self._clock = clock
        self._max_attempts = max_attempts
        self._lease = lease
        self._batch_size = batch_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None

    @classmethod
    def from_settings(
        cls,
        outbox: OutboxRepository,
        senders: Mapping[str, Sender],
        settings: Settings,
        clock: Clock,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> OutboxWorker:
        return cls(
            outbox,
            senders,
            clock,
            max_attempts=settings.delivery_max_attempts,
            lease=lease_for(settings.delivery_timeout),
            batch_size=batch_size,
        )

    def drain_once(self, now: int) -> int:
        """Send everything due at `now`; returns how many messages were attempted.

        Later batches read the clock again (never earlier than `now`), so a drain slowed down by
        timeouts does not hand out leases that have already half expired.
        """
        attempted = 0
        while True:
            batch = self._outbox.claim_due(max(now, self._clock.now()), self._lease, self._batch_size)
            if not batch:
                return attempted
            for record in batch:
                self._deliver(record, now)
                attempted += 1

    def _deliver(self, record: OutboxRecord, start: int) -> None:
        token = record.claim_token
        if token is None:
            return  # not a claimed record: only claim_due's records may be delivered
        if record.attempts > self._max_attempts:
            # Only reachable when earlier claims died without finishing (the lease ran out).
            self._fail(record, token, "gave up: the last attempt was interrupted", start)
            return
        sender = self._senders.get(record.channel)
        try:
            if sender is None:
                raise DeliveryFailed(f"no sender for channel {record.channel}", retryable=False)
            try:
                message = Message(
                    channel=record.channel,
                    to=record.to,
                    purpose=record.purpose,
                    text=record.text or "",
                    subject=record.subject,
                    code=record.code,
                    id=record.id,
                )
            except InvalidMessage as exc:
                raise DeliveryFailed(f"invalid message: {exc}", retryable=False) from None
            sender.send(message)
        except DeliveryFailed as exc:
            self._failed_attempt(record, token, exc.reason, exc.retryable, start)
        except Exception as exc:
            log.exception("sender for %s raised unexpectedly (outbox %s)", record.channel, record.id)
            self._failed_attempt(record, token, f"unexpected {type(exc).__name__}", True, start)
        else:
            if not self._outbox.mark_sent(record.id, token, self._now(start)):
                log.warning("outbox %s was sent after its lease ran out; it may be sent twice", record.id)

    def _failed_attempt(self, record: OutboxRecord, token: str, reason: str, retryable: bool, start: int) -> None:
        if not retryable or record.attempts >= self._max_attempts:
            self._fail(record, token, reason, start)
            return
        next_at = self._now(start) + backoff_delay(record.attempts)
        log.info("outbox %s: attempt %d failed (%s); next try at %d", record.id, record.attempts, reason, next_at)
        self._outbox.retry_later(record.id, token, reason, next_at)

    def _fail(self, record: OutboxRecord, token: str, reason: str, start: int) -> None:
        log.warning(
            "outbox %s (%s, %s) failed for good after %d attempt(s): %s",
            record.id,
            record.channel,
            record.purpose,
            record.attempts,
            reason,
        )
        self._outbox.mark_failed(record.id, token, reason, self._now(start))

    def _now(self, start: int) -> int:
        return max(start, self._clock.now())

    def wake(self) -> None:
        """Ask the running worker to drain now (after an enqueue) instead of at the next poll.
        Safe from any thread; does nothing when the worker is not running."""
        loop, woken = self._loop, self._woken
        if loop is None or woken is None:
            return
        try:
            loop.call_soon_threadsafe(woken.set)
        except RuntimeError:
            pass  # the loop has closed: the worker is gone and the next start drains anyway

    async def run(self, stop: asyncio.Event, poll_interval: float = 2.0) -> None:
        """Drain in a worker thread every `poll_interval` seconds, or sooner when woken, until `stop`."""
        self._woken = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._woken.clear()
                try:
                    await asyncio.to_thread(self.drain_once, self._clock.now())
                except Exception:
                    log.exception("draining the outbox failed; trying again in %s s", poll_interval)
                await _first_of(stop, self._woken, timeout=poll_interval)
        finally:
            self._loop = None
            self._woken = None

    def close(self) -> None:
        """Release what the senders hold (the SMS gateway's connection pool)."""
        closed: set[int] = set()
        for sender in self._senders.values():
            close = getattr(sender, "close", None)
            if callable(close) and id(sender) not in closed:
                closed.add(id(sender))
                close()


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
