"""The outbox worker: claims due messages, sends them, and finishes or reschedules each one.

Pages only enqueue; this worker is the only thing that waits on a gateway. It runs in every
provider process; the outbox's leases make sure each message is sent by one of them. It claims one
message at a time, so the lease always covers the send in hand.

A message is retried on a growing schedule (5 s doubling to one try every 5 minutes; every 30 s
at most for a code) until its deadline: a code's own expiry (a late code is useless, and the
citizen's resend replaces it), or `delivery_retry_for` after it was queued for notices, email and
logout tokens. Every message given up on is counted (`idp_outbox_given_up_total`) and logged
once, at WARNING.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from idp.clock import Clock
from idp.delivery.errors import DeliveryFailed, InvalidMessage
from idp.delivery.message import Message
from idp.delivery.senders import Sender
from idp.metrics import OUTBOX_GIVEN_UP
from idp.settings import Settings
from idp.store.faults import classify
from idp.store.outbox import OutboxRecord, OutboxRepository

log = logging.getLogger("idp.delivery")

RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 300
# A message with an expiry of its own (a code, 5 minutes) has someone waiting on a page for it:
# it is tried at least every 30 s, so a gateway back within the code's life still delivers it.
EXPIRING_RETRY_CAP_SECONDS = 30


def backoff_delay(attempts: int, cap: int = RETRY_CAP_SECONDS) -> int:
    """Seconds before the next try after `attempts` failed ones: 5, 10, 20, … capped at `cap`
    (5 minutes unless the message expires on its own)."""
    return min(RETRY_BASE_SECONDS * (1 << min(max(attempts - 1, 0), 20)), cap)


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
        retry_for: int,
    ) -> None:
        self._outbox = outbox
        self._senders = senders
        self._clock = clock
        self._max_attempts = max_attempts
        self._lease = lease
        self._retry_for = retry_for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None

    @classmethod
    def from_settings(
        cls,
        outbox: OutboxRepository,
        senders: Mapping[str, Sender],
        settings: Settings,
        clock: Clock,
    ) -> OutboxWorker:
        return cls(
            outbox,
            senders,
            clock,
            max_attempts=settings.delivery_max_attempts,
            lease=lease_for(settings.delivery_timeout),
            retry_for=settings.delivery_retry_for,
        )

    def drain_once(self, now: int) -> int:
        """Send everything due at `now`; returns how many messages were attempted.

        One message per claim, each claimed at the clock's current time (never earlier than `now`):
        a batch claimed together outlived its lease behind slow sends, and another process sent
        its tail again.
        """
        attempted = 0
        while True:
            claimed = self._outbox.claim_due(max(now, self._clock.now()), self._lease)
            if not claimed:
                return attempted
            self._deliver(claimed[0], now)
            attempted += 1

    def deadline(self, record: OutboxRecord) -> int:
        """The last moment the message may leave: a code's expiry, else the retry window's end."""
        window_end = record.created_at + self._retry_for
        return window_end if record.give_up_at is None else min(record.give_up_at, window_end)

    def _deliver(self, record: OutboxRecord, start: int) -> None:
        token = record.claim_token
        if token is None:
            return  # not a claimed record: only claim_due's records may be delivered
        if self._now(start) >= self.deadline(record):
            self._give_up(record, token, "expired", "its deadline passed before it could be sent", start)
            return
        if record.attempts > self._max_attempts:
            # Only reachable when earlier claims died without finishing (the lease ran out).
            self._give_up(record, token, "interrupted", "the last attempt was interrupted", start)
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
        if not retryable:
            self._give_up(record, token, "refused", reason, start)
            return
        if record.attempts >= self._max_attempts:
            self._give_up(record, token, "attempts", f"{record.attempts} attempts: {reason}", start)
            return
        cap = RETRY_CAP_SECONDS if record.give_up_at is None else EXPIRING_RETRY_CAP_SECONDS
        next_at = self._now(start) + backoff_delay(record.attempts, cap)
        if next_at >= self.deadline(record):
            self._give_up(record, token, "expired", f"its deadline comes before the next try: {reason}", start)
            return
        log.info("outbox %s: attempt %d failed (%s); next try at %d", record.id, record.attempts, reason, next_at)
        self._outbox.retry_later(record.id, token, reason, next_at)

    def _give_up(self, record: OutboxRecord, token: str, why: str, reason: str, start: int) -> None:
        """Never sent: one metric and one WARNING line per message, so an outage that cost citizens
        their codes or notices shows on a dashboard and in the log."""
        if not self._outbox.mark_failed(record.id, token, reason, self._now(start)):
            return  # the lease was lost: whoever holds it now decides
        OUTBOX_GIVEN_UP.labels(record.channel, record.purpose, why).inc()
        log.warning(
            "outbox %s (%s, %s) given up (%s) after %d attempt(s): %s",
            record.id,
            record.channel,
            record.purpose,
            why,
            record.attempts,
            reason,
        )

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
        failing: str | None = None  # the storage fault being waited out, logged once when it starts
        try:
            while not stop.is_set():
                self._woken.clear()
                try:
                    await asyncio.to_thread(self.drain_once, self._clock.now())
                    if failing is not None:
                        log.warning("the outbox is reachable again after %s; sending resumes", failing)
                        failing = None
                except Exception as exc:
                    fault = classify(exc)
                    if fault is None:
                        log.exception("draining the outbox failed; trying again in %s s", poll_interval)
                    elif fault.cause != failing:
                        # An outage is one line, not a traceback every poll in every process.
                        log.warning(
                            "outbox paused: %s (%s); trying every %s s", fault.cause, fault.detail, poll_interval
                        )
                        failing = fault.cause
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
