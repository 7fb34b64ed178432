"""The error boundary: a defect is one complete 500 (the connection stays usable, one traceback in
the log); a database that cannot be reached is a 503 with Retry-After, on JSON routes and pages.

The provider runs in a real uvicorn on 127.0.0.1 (in a thread of this process, so the test can
hand it a broken repository and read its log records) or through Starlette's TestClient.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from idp.app import create_app
from idp.core.provider import Provider
from idp.delivery import OutboxWorker, senders_from_settings
from idp.store.faults import classify
from tests.helpers import Pkce, add_citizen, add_portal, csrf_of, exchange, free_port, issued_code

pytestmark = pytest.mark.faults


class BrokenRepository:
    """A repository whose every method fails the way a bug would (not a storage fault)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"injected defect: {name} is broken")


@contextmanager
def served(provider: Provider) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(provider), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _bogus_code_exchange(http: httpx.Client, base: str, portal: Any) -> httpx.Response:
    return http.post(
        f"{base}/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": "no-such-code",
            "redirect_uri": portal.redirect_uri,
            "code_verifier": Pkce().verifier,
        },
    )


def test_a_defect_is_one_complete_500_and_the_next_request_on_the_connection_succeeds(
    provider: Provider, caplog: pytest.LogCaptureFixture
):
    portal = add_portal(provider)
    provider.store.grants = BrokenRepository()  # type: ignore[assignment]
    caplog.set_level(logging.INFO)
    connections: list[object] = []

    with served(provider) as base, httpx.Client(timeout=10) as http:
        failed = _bogus_code_exchange(http, base, portal)
        connections.append(failed.extensions.get("network_stream"))
        after = http.get(f"{base}/healthz")
        connections.append(after.extensions.get("network_stream"))
    tracebacks = [r for r in caplog.records if r.exc_info and "injected defect" in str(r.exc_info[1])]

    assert failed.status_code == 500 and failed.json()["error"] == "server_error"
    assert "injected defect" not in failed.text
    assert failed.headers["x-request-id"]
    assert after.status_code == 200
    assert connections[0] is not None and connections[0] is connections[1], "the client had to open a new connection"
    assert len(tracebacks) == 1, [r.getMessage() for r in tracebacks]
    assert failed.headers["x-request-id"] in tracebacks[0].getMessage()


def _unreachable(provider: Provider) -> None:
    """Point the store at a database that is not there: PostgreSQL on a closed port, SQLite in a
    folder that does not exist."""
    url = provider.store.engine.url
    provider.store.engine.dispose()
    if url.get_backend_name() == "sqlite":
        provider.store.engine = create_engine(url.set(database="/nonexistent/dir/idp.sqlite3"))
    else:
        provider.store.engine = create_engine(url.set(port=free_port()), connect_args={"connect_timeout": 2})
    provider.store.db.engine = provider.store.engine


def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after_on_token_userinfo_and_authorize(
    provider: Provider, metrics: Any, caplog: pytest.LogCaptureFixture
):
    portal = add_portal(provider)
    provider.store.clients.get(portal.client_id)  # cached, as in a warm process
    pkce = Pkce()
    code = issued_code(provider, portal, add_citizen(provider)[0], pkce)["code"]
    with TestClient(create_app(provider)) as before:
        access_token = exchange(before, portal, code, pkce).json()["access_token"]
    _unreachable(provider)
    caplog.set_level(logging.INFO)
    # Served after the outage began, so the serving loop's own connections (PostgreSQL's token
    # path: `Database.run_unit`) point at the same missing database.
    with TestClient(create_app(provider), follow_redirects=False) as client:
        token = _bogus_code_exchange(client, "", portal)
        # The token endpoint's and userinfo's reads run on the connection's own cursor (`RawRead`),
        # not through SQLAlchemy's execute: their driver errors must be told an outage all the same.
        claims = client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
        page = client.get(
            "/authorize",
            params={
                "client_id": portal.client_id,
                "redirect_uri": portal.redirect_uri,
                "response_type": "code",
                "scope": "openid",
                "state": "s",
                "nonce": "n",
                "code_challenge": Pkce().challenge,
                "code_challenge_method": "S256",
            },
        )
        ready = client.get("/readyz")
    scraped = metrics()

    assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"
    assert token.headers["retry-after"] == "5"
    assert claims.status_code == 503 and claims.json()["error"] == "temporarily_unavailable"
    assert claims.headers["retry-after"] == "5"
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    assert ready.status_code == 503
    assert 'idp_unavailable_total{cause="database_unavailable"}' in scraped
    assert not [r for r in caplog.records if r.exc_info], "a storage fault is one line, not a traceback"
    assert any("database_unavailable" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize(
    ("raised", "cause"),
    [
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), "database_unavailable"),
        (psycopg.OperationalError("connection failed: Connection refused"), "database_unavailable"),
        (psycopg.errors.DeadlockDetected("deadlock detected"), None),  # a defect to fix, not an outage
        (psycopg.errors.UniqueViolation("duplicate key"), None),
        (sqlite3.OperationalError("database or disk is full"), "storage_full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "storage_read_only"),
        (sqlite3.OperationalError("no such table: x"), None),
        (OSError(errno.ENOSPC, "No space left on device"), "storage_full"),
        (OSError(errno.EROFS, "Read-only file system"), "storage_read_only"),
    ],
)
def test_only_an_outage_or_a_full_or_read_only_disk_is_a_storage_fault_and_a_deadlock_stays_a_defect(
    raised: BaseException, cause: str | None
):
    wrapped = DBAPIError.instance("UPDATE x", {}, raised, Exception) if not isinstance(raised, OSError) else raised

    found = classify(wrapped)

    assert (found.cause if found else None) == cause


def test_the_outbox_worker_logs_an_outage_once_not_a_traceback_every_poll(
    provider: Provider, caplog: pytest.LogCaptureFixture
):
    """Every process polls the outbox every 2 s; an hour's outage was 1,800 tracebacks per process."""
    engine = provider.store.engine
    worker = OutboxWorker.from_settings(
        provider.store.outbox,
        senders_from_settings(provider.settings, provider.clock),
        provider.settings,
        provider.clock,
    )
    caplog.set_level(logging.INFO, logger="idp.delivery")

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, poll_interval=0.05))
        await asyncio.sleep(0.1)
        _unreachable(provider)
        await asyncio.sleep(1.0)  # about 20 polls against the missing database
        provider.store.engine.dispose()
        provider.store.engine = provider.store.db.engine = engine
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    worker.close()

    lines = [r.getMessage() for r in caplog.records if r.name == "idp.delivery"]
    assert [line for line in lines if line.startswith("outbox paused: database_unavailable")], lines
    assert len([line for line in lines if line.startswith("outbox paused")]) == 1, lines
    assert not [r for r in caplog.records if r.exc_info], "an outage is a line, not a traceback"
    assert any("reachable again" in line for line in lines), lines


def test_the_staff_console_gets_a_page_when_the_database_is_unreachable(client: Any, provider: Provider):
    form = client.get("/admin/login")
    _unreachable(provider)

    answer = client.post(
        "/admin/login", data={"csrf_token": csrf_of(form.text), "username": "clerk", "password": "any password"}
    )

    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"].startswith("text/html")
