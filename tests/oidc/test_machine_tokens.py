"""client_credentials for a client this process knows: answered on the event loop, with the
same refusals as the database path."""

from __future__ import annotations

import anyio
import anyio.to_thread
import httpx
import jwt
import pytest

from idp.app import create_app
from idp.core import clients
from tests.helpers import ISSUER, Portal, add_portal

GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def backend(provider) -> Portal:
    return add_portal(provider, redirect_uris=[], grant_types=["client_credentials"], scopes=["notices.send"])


@pytest.mark.anyio
async def test_a_machine_token_is_issued_while_every_worker_thread_is_busy(provider, backend):
    app = create_app(provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as http:
        first = await http.post("/token", auth=backend.basic, data=GRANT)  # the client read once
        limiter = anyio.to_thread.current_default_thread_limiter()
        holders = [object() for _ in range(int(limiter.total_tokens))]
        for holder in holders:  # a slow database has every worker thread
            await limiter.acquire_on_behalf_of(holder)
        try:
            with anyio.fail_after(5):
                issued = await http.post("/token", auth=backend.basic, data=GRANT)
                wrong = await http.post("/token", auth=(backend.client_id, "not-the-secret"), data=GRANT)
            # A DPoP proof's jti is recorded in the database: on PostgreSQL that request waits for
            # a thread; on SQLite the token endpoint's unit runs on the event loop (offload.unit).
            with anyio.move_on_after(0.5) as waited:
                proofed = await http.post("/token", auth=backend.basic, data=GRANT, headers={"DPoP": "x.y.z"})
        finally:
            for holder in holders:
                limiter.release_on_behalf_of(holder)

    claims = jwt.decode(issued.json()["access_token"], options={"verify_signature": False})
    assert first.status_code == 200 and issued.status_code == 200
    assert claims["sub"] == backend.client_id and claims["scope"] == "notices.send"
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    if provider.store.db.is_sqlite:
        assert proofed.status_code == 400 and proofed.json()["error"] == "invalid_dpop_proof"
    else:
        assert waited.cancelled_caught


def test_a_known_client_is_refused_at_once_after_its_secret_changes_or_it_is_disabled(client, provider, backend):
    assert client.post("/token", auth=backend.basic, data=GRANT).status_code == 200

    new_secret = clients.rotate_secret(provider, backend.client_id)
    old = client.post("/token", auth=backend.basic, data=GRANT)
    new = client.post("/token", auth=(backend.client_id, new_secret), data=GRANT)
    provider.store.client_directory.set_disabled(backend.client_id, True)
    disabled = client.post("/token", auth=(backend.client_id, new_secret), data=GRANT)

    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert new.status_code == 200
    assert disabled.status_code == 401 and disabled.json()["error"] == "invalid_client"


def test_a_client_registered_for_assertions_cannot_use_a_secret_once_known(client, provider):
    portal = add_portal(
        provider,
        auth_method="private_key_jwt",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["notices.send"],
        jwks={"keys": []},
    )
    provider.store.clients.get(portal.client_id)  # in this process's cache

    response = client.post("/token", data={**GRANT, "client_id": portal.client_id, "client_secret": "guess"})

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
