"""The token endpoint's one unit of work, wherever it runs (on SQLite, on the event loop; on
PostgreSQL, in a worker thread): tokens leave only after the code's consume is committed, and a
failure after the consume undoes it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from idp.app import create_app
from tests.helpers import Pkce, exchange, issued_code


class BrokenKeys:
    """A key ring whose signer fails: the fault comes after the code is consumed."""

    def __init__(self, real):
        self._real = real

    def signer(self, alg):
        raise RuntimeError("the signing key could not be read")

    def __getattr__(self, name):
        return getattr(self._real, name)


def _consumed_elsewhere(database_url: str) -> bool:
    """Read by a connection of another engine: what is committed, not what one session sees."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT consumed_at FROM authorization_code")).scalar() is not None
    finally:
        engine.dispose()


def test_the_code_is_consumed_durably_when_the_tokens_leave(client, provider, portal, citizen, database_url):
    pkce = Pkce()
    code = issued_code(provider, portal, citizen[0], pkce)["code"]

    answer = exchange(client, portal, code, pkce)

    assert answer.status_code == 200 and answer.json()["access_token"]
    assert _consumed_elsewhere(database_url)


def test_a_failure_after_the_consume_leaves_the_code_unspent(provider, portal, citizen, database_url):
    pkce = Pkce()
    code = issued_code(provider, portal, citizen[0], pkce)["code"]
    real = provider.keys
    provider.keys = BrokenKeys(real)
    with TestClient(create_app(provider), raise_server_exceptions=False) as http:
        failed = exchange(http, portal, code, pkce)
        provider.keys = real

        assert failed.status_code == 500
        assert not _consumed_elsewhere(database_url)
        assert exchange(http, portal, code, pkce).status_code == 200


@pytest.mark.parametrize("grant", ["authorization_code", "refresh_token"])
def test_an_unknown_client_is_refused_whatever_the_grant(client, grant):
    answer = client.post("/token", auth=("nobody", "wrong"), data={"grant_type": grant, "code": "x"})

    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
