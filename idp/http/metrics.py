"""`/metrics`: Prometheus text format. Keep it off the public internet (the proxy config in
`deploy/` answers 404 for it); scrape each machine's processes directly."""

from __future__ import annotations

import contextlib
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from idp.http.offload import core
from idp.observability import OUTBOX_PENDING


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


async def metrics(request: Request) -> Response:
    housekeeping = request.app.state.housekeeper
    with contextlib.suppress(Exception):
        OUTBOX_PENDING.set(await core(housekeeping.outbox_pending))
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
