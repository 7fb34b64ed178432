"""The login form's own path, where only the hash holds a password slot and the lookup with the
reserved try before it, and the outcome with the session after it, are database units: parallel
logins to one account through real requests (SQLite and PostgreSQL).

On PostgreSQL those units hold row locks until they commit; a unit releasing the budgets in
another order than one reserving them would deadlock with it (the server then aborts one login
after a second)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest

from idp.app import create_app
from idp.core import limits
from tests.helpers import ISSUER, Pkce, add_citizen, add_portal, authorize_params, csrf_of, form_action, path_of
from tests.security.conftest import password_failures
from tests.security.test_races import GUESSES, CountingHasher

# As many as the account's free tries: each login in flight holds one until its hash is checked.
PARALLEL = limits.PASSWORD_FREE_TRIES


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _login_form(app, portal, address: str) -> tuple[httpx.AsyncClient, str, str]:
    """A browser at `address` on the login page of its own authorization request."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url=ISSUER)
    parked = await http.get("/authorize?" + urlencode(authorize_params(portal, Pkce())))
    page = await http.get(path_of(parked.headers["location"]))
    return http, form_action(page.text, "/login"), csrf_of(page.text)


async def _submit(form: tuple[httpx.AsyncClient, str, str], identifier: str, password: str) -> int:
    http, action, csrf = form
    try:
        done = await http.post(action, data={"csrf_token": csrf, "identifier": identifier, "password": password})
    finally:
        await http.aclose()
    return done.status_code


@pytest.mark.anyio
async def test_parallel_right_password_logins_to_one_account_all_go_through(provider):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    app = create_app(provider)
    forms = [await _login_form(app, portal, "192.0.2.10") for _ in range(PARALLEL)]

    statuses = await asyncio.wait_for(
        asyncio.gather(*(_submit(form, citizen.id_number, password) for form in forms)), timeout=30
    )

    assert statuses == [303] * PARALLEL


@pytest.mark.anyio
async def test_parallel_wrong_passwords_through_the_form_get_at_most_the_free_tries(provider):
    portal = add_portal(provider)
    citizen, _ = add_citizen(provider)
    hasher = CountingHasher()
    provider.passwords = hasher
    app = create_app(provider)
    forms = [await _login_form(app, portal, f"198.51.100.{n}") for n in range(GUESSES)]

    statuses = await asyncio.wait_for(
        asyncio.gather(*(_submit(form, citizen.id_number, f"wrong guess {n}") for n, form in enumerate(forms))),
        timeout=60,
    )

    assert set(statuses) <= {401, 429}
    assert hasher.real_checks <= limits.PASSWORD_FREE_TRIES
    assert password_failures(provider, citizen) <= limits.PASSWORD_FREE_TRIES
