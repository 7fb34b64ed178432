"""Housekeeping: prune expired codes, sessions, interactions, flows, tokens, rate counters and
finished outbox messages.

It runs as `idp housekeeping` (cron, a Kubernetes CronJob) and as a background task in every
provider process. The task takes a lease first, an atomic counter in the shared database, so
however many processes and machines run, one of them prunes per interval and the others skip.
"""

from __future__ import annotations

import logging

from idp.core import policy
from idp.core.provider import Provider
from idp.observability import HOUSEKEEPING_PRUNED
from idp.store.housekeeping import Horizon, Housekeeping

log = logging.getLogger("idp.housekeeping")

LEASE_KEY = "housekeeping:lease"


class Housekeeper:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.repo = Housekeeping(provider.store.db)

    def horizon(self) -> Horizon:
        settings = self.provider.settings
        return Horizon(
            now=self.provider.clock.now(),
            session_idle_ttl=settings.session_idle_ttl,
            grant_grace=settings.access_token_ttl + settings.clock_leeway,
            device_ttl=policy.DEVICE_TTL,
        )

    def run_once(self) -> dict[str, int]:
        pruned = self.repo.prune(self.horizon())
        for table, count in pruned.items():
            if count:
                HOUSEKEEPING_PRUNED.labels(table).inc(count)
        return pruned

    def take_lease(self, interval: int) -> bool:
        """True for exactly one caller per `interval` seconds across every process."""
        return self.provider.store.counters.hit(LEASE_KEY, interval, self.provider.clock.now()) == 1

    def run_if_leased(self, interval: int) -> dict[str, int] | None:
        if not self.take_lease(interval):
            return None
        pruned = self.run_once()
        log.info("housekeeping pruned %d rows", sum(pruned.values()), extra={"pruned": str(pruned)})
        return pruned

    def outbox_pending(self) -> int:
        return self.repo.outbox_pending()
