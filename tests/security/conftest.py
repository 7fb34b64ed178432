"""Helpers for the attack tests of issue 12: a second browser at another address, the citizen's own
browser signed in to the account page, an enrolled authenticator, and a reset walked by hand."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from idp.crypto.totp import totp_code
from tests.helpers import ISSUER, add_citizen, csrf_of, form_action, path_of, sent_codes

NEW_PASSWORD = "một mật khẩu mới thật dài"


def browser_at(client: TestClient, address: str) -> TestClient:
    """Another browser (its own cookie jar) on the same provider, seen from `address`."""
    return TestClient(client.app, base_url=ISSUER, follow_redirects=False, client=(address, 50000))


def account_login(client, citizen, password, app_code=None):
    """Log in from the account page, as the citizen would (with the app's code from `app_code()` when
    asked for a second factor); returns the account page."""
    start = client.get("/account")
    page = client.get(path_of(start.headers["location"]))
    done = client.post(
        form_action(page.text, "/login"),
        data={"csrf_token": csrf_of(page.text), "identifier": citizen.id_number, "password": password},
    )
    assert done.status_code == 303, done.text
    if app_code is not None and not done.headers["location"].endswith("/account"):
        second = client.get(path_of(done.headers["location"]))
        done = client.post(
            form_action(second.text, "/second-factor"),
            data={"csrf_token": csrf_of(second.text), "method": "totp", "code": app_code()},
        )
        assert done.status_code == 303, done.text
    return client.get("/account")


def enrol_app(client, clock):
    """Enrol an authenticator from a fresh account page; returns (secret, recovery codes)."""
    account = client.get("/account")
    enrol = client.post(form_action(account.text, "/account/totp"), data={"csrf_token": csrf_of(account.text)})
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', enrol.text).group(1)
    confirmed = client.post(
        form_action(enrol.text, "/account/totp/confirm"),
        data={"csrf_token": csrf_of(enrol.text), "code": totp_code(secret, clock.now())},
    )
    return secret, re.findall(r"<li><code>([0-9A-Z-]+)</code></li>", confirmed.text)


@pytest.fixture
def owner(client, provider):
    """A citizen with a password (and an email, so a reset has two channels to tell)."""
    return add_citizen(provider)


@pytest.fixture
def app_owner(client, clock, provider):
    """A citizen who enrolled an authenticator app: (citizen, password, secret, recovery codes)."""
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    secret, codes = enrol_app(client, clock)
    client.cookies.clear()
    clock.advance(30)
    return citizen, password, secret, codes


def start_reset(client, identifier):
    """POST /reset for `identifier`; returns the code page (or the refusal)."""
    form = client.get("/reset")
    started = client.post(
        form_action(form.text, "/reset"), data={"csrf_token": csrf_of(form.text), "identifier": identifier}
    )
    if started.status_code != 303:
        return started
    return client.get(path_of(started.headers["location"]))


def reset_by_sms(client, provider, citizen, new_password=NEW_PASSWORD, **extra):
    """A reset answered with the SMS code alone (plus any `extra` fields); returns the final answer."""
    page = start_reset(client, citizen.id_number)
    code = sent_codes(provider, citizen.phone, "reset")[-1]
    return client.post(
        form_action(page.text, "/reset/"),
        data={"csrf_token": csrf_of(page.text), "code": code, "password": new_password, **extra},
    )


def audit_rows(provider, citizen):
    with provider.store.engine.connect() as conn:
        return conn.execute(
            text("SELECT action, outcome, detail FROM audit_event WHERE subject = :s ORDER BY seq"),
            {"s": f"citizen:{citizen.id}"},
        ).all()


def password_failures(provider, citizen) -> int:
    """Wrong passwords counted against the account: its shared (unknown-device) budget plus the
    budgets of its known browsers (a signed-in citizen's forms spend their browser's budget)."""
    shared = provider.store.failures.state(citizen.id, "password").consecutive
    with provider.store.engine.connect() as conn:
        known = conn.execute(
            text("SELECT COALESCE(SUM(consecutive), 0) FROM attempt_budget WHERE key LIKE :k"),
            {"k": f"password:device:citizen:{citizen.id}:%"},
        ).scalar_one()
    return shared + int(known)
