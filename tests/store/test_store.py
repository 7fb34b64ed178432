"""The store on SQLite and PostgreSQL: migrations match the models, single-use things have one winner,
uniqueness is a constraint."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.errors import ValidationError
from idp.store.records import Conflict
from tests.helpers import CITIZEN, add_citizen, add_portal


def test_the_migrations_build_exactly_the_schema_the_models_describe(provider):
    with provider.store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)

    assert diff == []


def test_migrating_twice_changes_nothing(provider):
    provider.store.migrate()

    assert provider.store.ping()


def _race(n, fn):
    barrier = Barrier(n)

    def attempt(_):
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(attempt, range(n)))


def _seed_code(provider):
    portal = add_portal(provider)
    citizen, _ = add_citizen(provider)
    now = provider.clock.now()
    provider.store.grants.create_with_code(
        grant={
            "id": "g1",
            "citizen_id": citizen.id,
            "client_id": portal.client_id,
            "sid": "s",
            "scope": "openid",
            "auth_time": now,
            "acr": "LoA1",
            "amr": ["pwd"],
            "created_at": now,
            "expires_at": now + 3600,
        },
        code={
            "code_digest": "c" * 64,
            "client_id": portal.client_id,
            "redirect_uri": portal.redirect_uri,
            "code_challenge": "x" * 43,
            "nonce": None,
            "created_at": now,
            "expires_at": now + 60,
        },
    )
    return portal


def test_of_eight_racing_consumers_of_one_code_exactly_one_wins(provider):
    portal = _seed_code(provider)

    results = _race(8, lambda: provider.store.grants.consume_code("c" * 64, portal.client_id, provider.clock.now()))

    assert sum(r is not None for r in results) == 1


def test_of_eight_racing_rotations_of_one_refresh_token_exactly_one_wins(provider):
    portal = _seed_code(provider)
    now = provider.clock.now()
    provider.store.refresh_tokens.add(
        token_digest="r" * 64,
        grant_id="g1",
        client_id=portal.client_id,
        scope="openid offline_access",
        created_at=now,
        expires_at=now + 3600,
    )
    successors = iter(f"{i:064d}" for i in range(8))

    results = _race(8, lambda: provider.store.refresh_tokens.rotate("r" * 64, portal.client_id, now, next(successors)))

    assert sum(r is not None for r in results) == 1


def test_parallel_registrations_of_one_citizen_id_create_exactly_one_account(provider):
    def register():
        try:
            return add_active_citizen(provider, CITIZEN, "correct horse battery")
        except ValidationError as exc:
            return exc

    results = _race(6, register)

    assert sum(not isinstance(r, ValidationError) for r in results) == 1
    assert all(r.field in ("citizen_id", "phone") for r in results if isinstance(r, ValidationError))


def test_a_second_account_with_the_same_phone_is_refused_by_the_database(provider):
    add_citizen(provider)
    other = CitizenDeclaration(
        id_number="079185000001", full_name="Lê Thị Hoa", birth_date="1985-06-01", sex="female", phone="+84912345678"
    )

    with pytest.raises(ValidationError) as refused:
        add_active_citizen(provider, other, "correct horse battery")

    assert refused.value.field == "phone"


def test_a_duplicate_client_id_is_a_conflict(provider):
    portal = add_portal(provider)

    with pytest.raises(Conflict):
        provider.store.clients.add(
            id=portal.client_id,
            name="x",
            secret_digest=None,
            auth_method="none",
            redirect_uris=[],
            post_logout_redirect_uris=[],
            scopes=["openid"],
            id_token_alg="ES256",
            created_at=0,
        )


def test_records_never_carry_the_password_hash(provider):
    citizen, _ = add_citizen(provider)

    assert "password" not in repr(citizen) and not hasattr(citizen, "password_hash")
