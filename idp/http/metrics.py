"""Prometheus metrics on a listener of their own (`IDP_METRICS_ADDRESS`, 127.0.0.1:9464 by default),
never on the public port: request counts by route, login outcomes and outbox depth are for the
operator, not for anyone who can reach the provider (the public port answers 404 for /metrics).

`idp serve` starts one listener, in the process that runs uvicorn. With one worker that process
serves the requests, and the listener reads the live registry. With several, each worker writes
its numbers into PROMETHEUS_MULTIPROC_DIR and the listener in the supervising process adds them
up, so one address answers for the whole `idp serve`, however many workers it runs.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger("idp.metrics")


class _ThisProcess(Collector):
    """The process's own registry, for a single-process `idp serve` (and the tests)."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


class _OutboxDepth(Collector):
    """`idp_outbox_pending`, read from the database at scrape time (one COUNT), so it is the same
    whichever process is scraped; a database that cannot answer leaves it out rather than failing
    the whole scrape."""

    def __init__(self, pending: Callable[[], int]) -> None:
        self._pending = pending

    def collect(self) -> Iterable[Metric]:
        try:
            value = self._pending()
        except Exception as exc:  # the scrape still answers with every other metric
            log.warning("outbox depth unavailable for the metrics: %s", type(exc).__name__)
            return
        gauge = GaugeMetricFamily("idp_outbox_pending", "Messages waiting in the outbox (read at scrape time).")
        gauge.add_metric([], value)
        yield gauge


def registry(outbox_pending: Callable[[], int] | None = None) -> CollectorRegistry:
    """What the listener exposes: every worker's metrics (multiprocess mode) or this process's."""
    found = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(found)
    else:
        found.register(_ThisProcess())
    if outbox_pending is not None:
        found.register(_OutboxDepth(outbox_pending))
    return found


@dataclass
class MetricsListener:
    server: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def start_listener(address: str, outbox_pending: Callable[[], int] | None = None) -> MetricsListener | None:
    """Serve the metrics at `address` (HOST:PORT) in a thread; None when `address` is empty. A port
    already taken is logged as an error and the provider serves on without metrics: citizens'
    logins matter more than the operator's graphs."""
    if not address:
        return None
    host, port = split_address(address)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry(outbox_pending))
    except OSError as exc:
        log.error("the metrics listener cannot listen on %s (IDP_METRICS_ADDRESS): %s", address, exc)
        return None
    listener = MetricsListener(server, thread)
    log.info("metrics at %s", listener.url)
    return listener
