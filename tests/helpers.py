"""Test helpers: seeding a portal, a citizen and a code, PKCE, and walking the login through the pages."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from idp.bootstrap import open_provider
from idp.core import authorize, interactions, sessions
from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client
from idp.core.provider import Provider
from idp.settings import Settings
from idp.store.records import CitizenRecord

ISSUER = "https://idp.test"
CHROMIUM = "/usr/bin/chromium"
# As root, without a sandbox; and no background traffic, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
REDIRECT_URI = "https://portal.example/callback"
CITIZEN = CitizenDeclaration(
    id_number="001090000123",
    full_name="Trần Thị Bình",
    birth_date="1990-05-01",
    sex="male",
    phone="0912 345 678",
    email="binh@example.org",
)


@dataclass
class Portal:
    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT_URI

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_portal(provider: Provider, auth_method: str = "client_secret_basic", **kwargs: Any) -> Portal:
    kwargs.setdefault("redirect_uris", [REDIRECT_URI])
    created = register_client(provider, ClientSpec(name="Cổng thử nghiệm", auth_method=auth_method, **kwargs))
    return Portal(created.client.id, created.secret, (created.client.redirect_uris or ("",))[0])


def add_citizen(
    provider: Provider, password: str = "correct horse battery staple", declaration: CitizenDeclaration = CITIZEN
) -> tuple[CitizenRecord, str]:
    return add_active_citizen(provider, declaration, password), password


def authorize_params(portal: Portal, pkce: Pkce, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "client_id": portal.client_id,
        "redirect_uri": portal.redirect_uri,
        "response_type": "code",
        "scope": "openid profile phone",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def form_errors(html: str) -> dict[str, str]:
    """The page's error summary (the GOV.UK pattern) as {field id: words}, in the page's order."""
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    if summary is None:
        return {}
    links = re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary.group(0), re.S)
    return {field: words for field, words in links}


def error_words(html: str) -> str:
    """The words of a form page's one error, wherever it is tied."""
    errors = form_errors(html)
    assert len(errors) == 1, f"expected one error, found {errors}"
    return next(iter(errors.values()))


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_and_consent(
    http: httpx.Client | Any,
    portal: Portal,
    identifier: str,
    password: str,
    pkce: Pkce | None = None,
    consent: bool = True,
    second_factor: Callable[[], str] | None = None,
    **overrides: str | None,
) -> dict[str, str]:
    """Walk /authorize → login page → consent page → back to the portal; returns the callback query."""
    pkce = pkce or Pkce()
    url = "/authorize?" + urlencode(authorize_params(portal, pkce, **overrides))
    return query_of(walk_pages(http, url, portal.redirect_uri, identifier, password, consent, second_factor))


def issued_code(
    provider: Provider, portal: Portal, citizen: CitizenRecord, pkce: Pkce | None = None, **overrides: str | None
) -> dict[str, str]:
    """The callback query `login_and_consent` returns, without the pages: the request is validated
    and the code issued by the same core functions the consent step ends with, after a password
    login and an allowed consent. For tests about /token and what follows, not about the pages."""
    pkce = pkce or Pkce()
    params = {k: [v] for k, v in authorize_params(portal, pkce, **overrides).items()}
    client, request = authorize.validate(provider, params)
    amr = ["pwd"]
    session = sessions.start(provider, citizen.id, amr=amr, acr=interactions.achieved_level(citizen, amr))
    provider.store.consents.remember(citizen.id, client.id, frozenset(request.scope), provider.clock.now())
    return query_of(interactions.issue_code(provider, client, request, session.record))


def codes_in_outbox(data_dir: Path, to: str, purpose: str | None = None, at_least: int = 1) -> list[str]:
    """Codes delivered to `to` (oldest first), read from `outbox.jsonl` as a developer would: the
    console sender writes one JSON line a message. Waits briefly for the outbox worker."""
    path = data_dir / "outbox.jsonl"
    deadline = time.monotonic() + 10
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        found = [
            m["code"]
            for m in map(json.loads, lines)
            if m["to"] == to and m.get("code") and (purpose is None or m["purpose"] == purpose)
        ]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def sent_codes(provider: Provider, to: str, purpose: str | None = None, at_least: int = 1) -> list[str]:
    return codes_in_outbox(provider.settings.data_dir, to, purpose, at_least)


def messages_to(provider: Provider, to: str) -> list[tuple[str, str]]:
    """(purpose, redacted text) of every message queued for `to`."""
    from sqlalchemy import text

    with provider.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT purpose, redacted_text FROM outbox WHERE recipient = :to ORDER BY created_at"), {"to": to}
        ).all()
    return [(r.purpose, r.redacted_text) for r in rows]


def form_action(html: str, contains: str = "") -> str:
    actions = [a for a in re.findall(r'<form method="post" action="([^"]+)"', html) if contains in a]
    assert actions, f"no form posting to {contains!r}"
    return actions[-1].replace("&amp;", "&")


def walk_pages(
    http: httpx.Client | Any,
    authorize_url: str,
    redirect_uri: str,
    identifier: str,
    password: str,
    consent: bool = True,
    second_factor: Callable[[], str] | None = None,
) -> str:
    """Follow an authorization request through the provider's pages, as a browser would, filling
    the login form, the second-factor form (codes from `second_factor`) and answering the
    consent form; returns the URL the portal is sent back to."""
    response = http.get(path_of(authorize_url) if authorize_url.startswith("http") else authorize_url)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    while not location.startswith(redirect_uri):
        page = http.get(path_of(location))
        assert page.status_code == 200, page.text
        if 'name="password"' in page.text:
            action, data = form_action(page.text, "/login"), {"identifier": identifier, "password": password}
        elif "/second-factor" in page.text:
            assert second_factor is not None, "the provider asked for a second factor"
            method = re.findall(r'name="method" value="([a-z]+)"', page.text)[-1]
            action, data = form_action(page.text, "/second-factor"), {"method": method, "code": second_factor()}
        else:
            action, data = form_action(page.text, "/consent"), {"decision": "allow" if consent else "deny"}
        response = http.post(action, data={"csrf_token": csrf_of(page.text), **data})
        if response.status_code != 303:
            raise PageRefused(response)
        location = response.headers["location"]
    return location


class PageRefused(AssertionError):
    """A form in the login pages was answered with something other than a redirect."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code}: {response.text[:300]}")
        self.response = response


def exchange(http: httpx.Client | Any, portal: Portal, code: str, pkce: Pkce) -> httpx.Response:
    return http.post(
        "/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": pkce.verifier,
        },
    )


@contextmanager
def serving(command: list[str], env: dict[str, str], ready_url: str, timeout: float = 30) -> Iterator[None]:
    """Run a server process until the block ends; enter once `ready_url` answers 200.

    Its stderr goes to a file, never a pipe: nobody reads a pipe while the server runs, and once its
    64 KiB fill up (a few hundred access-log lines) every write blocks the server mid-request."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(ready_url, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    server.wait()
                    log.seek(0)
                    raise AssertionError(f"{command[-3:]} did not start: {log.read()[-5000:]}")
                time.sleep(0.1)
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def seed_served(settings: Settings, password: str, redirect_uri: str) -> tuple[str, str]:
    """What `idp clients add` and `idp citizens add` would write for a served provider, through the
    same core functions in this process: the schema is already current (the database fixture copies
    a migrated one), and three CLI start-ups per served test cost seconds. Returns the portal's id
    and secret. The CLI itself is tested in tests/cli."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    provider = open_provider(settings)
    try:
        added = register_client(provider, ClientSpec(name="Cổng dịch vụ công", redirect_uris=(redirect_uri,)))
        add_active_citizen(provider, replace(CITIZEN, email=None), password)
    finally:
        provider.store.close()
    assert added.secret is not None
    return added.client.id, added.secret
