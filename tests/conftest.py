"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), generated keys, a fixed clock.

PostgreSQL comes from IDP_TEST_DATABASE_URL (the README's test command sets it). A test that
needs it fails, never skips, when it is missing or the server is unreachable.

Each test's database starts as a copy of one migrated once per run (per xdist worker), since an
Alembic upgrade costs 0.2-0.5 s a test. SQLite: the migrated file is copied (0.3 ms). PostgreSQL:
one migrated schema per worker is emptied before each test, with one round trip of DELETEs
(4 ms); measured here against the alternatives, under the same load: `CREATE DATABASE ... TEMPLATE`
plus its DROP took 0.2-0.9 s, replaying the migration's DDL into a fresh schema 0.4 s, TRUNCATE 0.6 s.
Migrations leave every table but `alembic_version` empty (checked), so an emptied schema is the
template. The tests about migrations (tests/store, `idp db check`/`upgrade`) still run real upgrades.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, MetaData, Table, create_engine, select, text
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from idp.app import create_app
from idp.bootstrap import open_provider
from idp.clock import FixedClock
from idp.core.provider import Provider
from idp.crypto.keys import ensure_keys
from idp.settings import Settings
from idp.store.engine import make_engine, migrate
from idp.store.schema_status import CURRENT, status
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


def _migrated(url: str) -> None:
    """Upgrade the database at `url` and check it as `idp db check` would, so every copy is current."""
    engine = make_engine(url)
    try:
        migrate(engine)
        found = status(engine)
        assert found.state == CURRENT and not found.drift, found.as_dict()
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "idp.sqlite3"
    _migrated(f"sqlite:///{path}")
    # The last connection's close checkpoints the WAL into the file; a leftover would be lost by the copy.
    assert not path.with_name(path.name + "-wal").exists()
    return path


class PostgresTemplate:
    """A schema migrated once, emptied back to its just-migrated state for each test."""

    def __init__(self, base: str) -> None:
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        separator = "&" if "?" in base else "?"
        self.url = f"{base}{separator}options=-csearch_path%3D{self.schema}"
        self.admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        _migrated(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            tables = MetaData()
            tables.reflect(engine)
            with engine.connect() as conn:
                seeded = [t.name for t in tables.sorted_tables if t.name != "alembic_version" and _has_rows(conn, t)]
                sequences = conn.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
                ).scalars()
                restarts = [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        finally:
            engine.dispose()
        assert not seeded, f"the migrations seed {seeded}: emptying would not restore the template"
        # Children before parents, so no foreign key is in the way.
        deletes = [f'DELETE FROM "{t.name}"' for t in reversed(tables.sorted_tables) if t.name != "alembic_version"]
        self.reset_sql = "; ".join([f'SET LOCAL search_path TO "{self.schema}"', *deletes, *restarts])

    def reset(self) -> None:
        with self.admin.begin() as conn:
            # A connection a test leaked would block the DELETEs: fail the next test instead of hanging.
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            conn.exec_driver_sql(self.reset_sql)

    def drop(self) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def _has_rows(conn: Connection, table: Table) -> bool:
    return conn.execute(select(table).limit(1)).first() is not None


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    base = postgres_url()
    try:
        template = PostgresTemplate(base)
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL at {base} is unreachable: {exc}")
    yield template
    template.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "idp.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    template.reset()
    return template.url


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, keys_dir: Path, database_url: str) -> Settings:
    """The production default refuses outbound requests to internal addresses; a test whose portal
    listens on 127.0.0.1 (a JWKS, a back-channel logout receiver) says so with
    `@pytest.mark.outbound_allow_private`."""
    own_keys = tmp_path / "keys"
    shutil.copytree(keys_dir, own_keys)
    return Settings(
        issuer=ISSUER,
        data_dir=tmp_path / "data",
        keys_dir=own_keys,
        database_url=database_url,
        password_profile="tests",
        outbound_allow_private=request.node.get_closest_marker("outbound_allow_private") is not None,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def provider(settings: Settings, clock: FixedClock) -> Iterator[Provider]:
    """`initialise` without its upgrade, which would find nothing to do in a copy of the template:
    the keys are copied in, and the secret box is created by `open_provider`."""
    if settings.effective_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
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


@pytest.fixture
def metrics(provider: Provider) -> Iterator[Callable[[], str]]:
    """The Prometheus listener `idp serve` starts (IDP_METRICS_ADDRESS), here on a free loopback port
    for this process's registry; calling the fixture scrapes it over real HTTP."""
    import httpx

    from idp.housekeeping import Housekeeper
    from idp.http.metrics import start_listener

    listener = start_listener("127.0.0.1:0", Housekeeper(provider).outbox_pending)
    assert listener is not None
    yield lambda: httpx.get(listener.url, timeout=5).text
    listener.close()
