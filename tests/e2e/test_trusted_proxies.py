"""X-Forwarded-For is believed only from the proxies named in IDP_TRUSTED_PROXIES: otherwise anyone
could pick the address that per-IP limits count and the audit trail records."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import text

from idp.store.repositories import Store
from tests.helpers import Pkce, Portal, authorize_params, csrf_of, form_action, path_of

pytestmark = pytest.mark.e2e

SPOOFED = "203.0.113.9"


def _failed_login_from(running_provider, forwarded_for: str) -> str:
    portal = Portal(running_provider.client_id, running_provider.client_secret, running_provider.redirect_uri)
    with httpx.Client(base_url=running_provider.issuer, headers={"X-Forwarded-For": forwarded_for}) as browser:
        start = browser.get("/authorize?" + urlencode(authorize_params(portal, Pkce())))
        page = browser.get(path_of(start.headers["location"]))
        refused = browser.post(
            form_action(page.text, "/login"),
            data={
                "csrf_token": csrf_of(page.text),
                "identifier": running_provider.id_number,
                "password": "not the password at all",
            },
        )
    assert refused.status_code == 401
    store = Store.open(running_provider.env["IDP_DATABASE_URL"])
    try:
        with store.engine.connect() as conn:
            return conn.execute(
                text("SELECT ip FROM audit_event WHERE action = 'citizen.login.password' ORDER BY seq DESC LIMIT 1")
            ).scalar()
    finally:
        store.close()


def test_a_forwarded_address_from_an_unnamed_peer_is_ignored(running_provider):
    assert _failed_login_from(running_provider, SPOOFED) == "127.0.0.1"


@pytest.mark.provider_env(IDP_TRUSTED_PROXIES="127.0.0.1")
def test_the_address_a_named_proxy_forwards_is_the_one_counted(running_provider):
    assert _failed_login_from(running_provider, SPOOFED) == SPOOFED
