"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), generated keys, a fixed clock.

PostgreSQL comes from IDP_TEST_DATABASE_URL (the README's test command sets it). A test that
needs it fails, never skips, when it is missing or the server is unreachable.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from idp.app import create_app
from idp.bootstrap import initialise, open_provider
from idp.clock import FixedClock
from idp.core.provider import Provider
from idp.crypto.keys import ensure_keys
from idp.settings import Settings
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, ISSUER

PG_ENV = "IDP_TEST_DATABASE_URL"


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(f"{PG_ENV} is not set: the PostgreSQL half of the suite cannot run (see the README)")
    return url


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys are generated once per run (RSA generation is slow) and copied into each test."""
    path = tmp_path_factory.mktemp("keys")
    ensure_keys(path)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'idp.sqlite3'}"
        return
    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {base} is unreachable: {exc}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, keys_dir: Path, database_url: str) -> Settings:
    own_keys = tmp_path / "keys"
    shutil.copytree(keys_dir, own_keys)
    return Settings(
        issuer=ISSUER,
        data_dir=tmp_path / "data",
        keys_dir=own_keys,
        database_url=database_url,
        password_profile="tests",
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def provider(settings: Settings, clock: FixedClock) -> Iterator[Provider]:
    initialise(settings)
    provider = open_provider(settings, clock=clock)
    yield provider
    provider.store.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (its own browser download does not work here);
    one per test module, since Playwright's sync API must not outlive a module's event loops."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def client(provider: Provider) -> Iterator[TestClient]:
    with TestClient(create_app(provider), base_url=ISSUER, follow_redirects=False) as test_client:
        yield test_client
