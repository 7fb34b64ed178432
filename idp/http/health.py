"""`/healthz` (the process answers) and `/readyz` (it can serve: database reachable, storage
writable, keys reachable).

A load balancer sends traffic only to ready processes; an orchestrator restarts a process whose
`/healthz` stops answering. Neither says anything about the citizen or the portals.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from idp.http.offload import core

READY_TIMEOUT = 2.0
_OK = b'{"status":"ok"}'
_NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> Response:
    return Response(_OK, media_type="application/json", headers=_NO_STORE)


def _keys_reachable(request: Request) -> bool:
    provider = request.app.state.provider
    try:
        provider.keys.signer("ES256")
    except LookupError:
        return False
    return provider.settings.keys_dir.is_dir() and any(provider.settings.keys_dir.glob("*.pem"))


async def _storage(faults: Any) -> str:
    """A full or read-only disk still answers the ping; a remembered storage fault stays until a
    small write goes through (`idp.store.faults`)."""
    if faults.needs_probe:
        try:
            with anyio.fail_after(READY_TIMEOUT):
                await core(faults.probe_write)
        except Exception:
            return "failing"
    fault = faults.storage
    return "ok" if fault is None else f"failing: {fault.cause}"


async def readyz(request: Request) -> Response:
    provider = request.app.state.provider
    checks: dict[str, str] = {}
    try:
        with anyio.fail_after(READY_TIMEOUT):
            checks["database"] = "ok" if await core(provider.store.ping) else "failing"
    except Exception:
        checks["database"] = "failing"
    checks["storage"] = await _storage(provider.store.faults)
    try:
        checks["keys"] = "ok" if await core(_keys_reachable, request) else "failing"
    except OSError:
        checks["keys"] = "failing"
    ready = all(v == "ok" for v in checks.values())
    body = json.dumps({"status": "ok" if ready else "unavailable", "checks": checks}, separators=(",", ":"))
    return Response(body.encode(), status_code=200 if ready else 503, media_type="application/json", headers=_NO_STORE)
