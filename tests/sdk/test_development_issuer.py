"""The quick start as a newcomer runs it: `idp serve --demo` without `IDP_ISSUER` names itself
http://localhost:PORT (browsers refuse passkeys on an IP-address origin) while listening on
127.0.0.1; the demo portal on 127.0.0.1 logs in through it in Chromium; and a passkey login there
reaches a `requires_amr` page with the same `acr` and `amr` the mock provider gives a passkey login.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from postid_client import PASSKEY_METHODS, AsyncPostIDClient
from postid_client.demo.settings import DemoSettings
from postid_client.starlette_auth import PostIDAuth, requires_amr
from postid_client.testing import Citizen, MockProvider
from tests.helpers import free_port, serving
from tests.sdk.test_mirror_providers import served_portal

pytestmark = pytest.mark.e2e

IDP = [sys.executable, "-m", "idp.cli"]


@dataclass
class QuickStart:
    port: int
    banner: str
    env: dict[str, str]

    def banner_value(self, pattern: str) -> str:
        found = re.search(pattern, self.banner)
        assert found, self.banner
        return found.group(1)

    def register(self, redirect_uri: str) -> tuple[str, str]:
        added = subprocess.run(
            [*IDP, "clients", "add", "--name", "Cổng thử", "--redirect-uri", redirect_uri],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        created = json.loads(added.stdout)
        return created["client_id"], created["client_secret"]


@pytest.fixture
def quick_start(tmp_path: Path, keys_dir: Path) -> Iterator[QuickStart]:
    """`idp serve --demo --port P` with no IDP_ISSUER and the embedded SQLite, as scripts/start runs it."""
    port = free_port()
    shutil.copytree(keys_dir, tmp_path / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "POSTID_", "DEMO_"))}
    env.update(
        IDP_DATA_DIR=str(tmp_path / "data"),
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_PASSWORD_PROFILE="tests",
        IDP_METRICS_ADDRESS="",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*IDP, "serve", "--demo", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.2)
            yield QuickStart(port, log_path.read_text(), env)
        finally:
            server.terminate()
            server.wait(15)


def test_idp_serve_without_an_issuer_names_itself_localhost_on_its_port(quick_start):
    issuer = f"http://localhost:{quick_start.port}"

    by_name = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    by_address = httpx.get(f"http://127.0.0.1:{quick_start.port}/.well-known/openid-configuration").json()

    assert by_name == by_address and by_name["issuer"] == issuer
    assert all(url.startswith(issuer + "/") for key, url in by_name.items() if key.endswith("_endpoint"))
    assert quick_start.banner_value(r"POSTID_ISSUER=(\S+)") == issuer


def test_the_demo_portals_default_issuer_is_the_quick_starts():
    assert DemoSettings.from_env({}).issuer == "http://localhost:8000"


@pytest.mark.browser
def test_the_demo_portal_on_127_0_0_1_logs_in_through_the_localhost_provider_in_chromium(quick_start, chromium):
    portal_port = free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    client_id, secret = quick_start.register(f"{portal_url}/callback")
    env = {k: v for k, v in quick_start.env.items() if not k.startswith("IDP_")}
    env.update(
        POSTID_ISSUER=quick_start.banner_value(r"POSTID_ISSUER=(\S+)"),  # as the banner prints it
        POSTID_CLIENT_ID=client_id,
        POSTID_CLIENT_SECRET=secret,
        POSTID_REDIRECT_URI=f"{portal_url}/callback",
        DEMO_PORT=str(portal_port),
    )
    context = chromium.new_context()
    page = context.new_page()
    with serving([sys.executable, "-m", "postid_client.demo"], env, f"{portal_url}/"):
        page.goto(portal_url + "/")
        page.click("#login")
        at_provider = page.url
        page.fill("#identifier", quick_start.banner_value(r"citizen ID number\s+(\d+)"))
        page.fill("#password", quick_start.banner_value(r"citizen password\s+(\S+)"))
        page.click("button[type=submit]")
        page.click("button[value=allow]")
        page.wait_for_url(portal_url + "/")
        name = page.locator("#name").inner_text()
        portal_cookies = {c["name"] for c in context.cookies(portal_url)}
        provider_cookies = {c["name"] for c in context.cookies(f"http://localhost:{quick_start.port}")}
    context.close()

    assert at_provider.startswith(f"http://localhost:{quick_start.port}/interaction/")
    assert name == "Nguyễn Văn An"
    assert portal_cookies and provider_cookies and not portal_cookies & provider_cookies


# -- a passkey login against the real provider and the mock ---------------------------------------


def land_portal(client: AsyncPostIDClient) -> Starlette:
    """A portal with one phishing-resistant page; `/me` shows any login."""
    auth = PostIDAuth(client, session_secret="s" * 32, scope="openid")

    def described(request: Request) -> JSONResponse:
        user = request.state.user
        return JSONResponse({"acr": user.acr, "amr": list(user.amr)} if user else {})

    land = requires_amr(any_of=PASSKEY_METHODS)(described)
    return Starlette(routes=[Route("/me", described), Route("/land", land), *auth.routes], middleware=[auth.middleware])


def _virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def real_passkey_login(quick_start: QuickStart, chromium) -> tuple[dict, dict, str]:
    """The demo citizen logs in to the portal with a password, enrols a passkey at the provider,
    opens the passkey-only page, is sent to log in afresh and uses the passkey."""
    issuer = f"http://localhost:{quick_start.port}"
    portal_port = free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    client_id, secret = quick_start.register(f"{portal_url}/callback")
    client = AsyncPostIDClient(issuer, client_id, client_secret=secret, redirect_uri=f"{portal_url}/callback")
    context = chromium.new_context()
    page = context.new_page()
    _virtual_authenticator(page)
    with served_portal(land_portal(client), portal_port):
        page.goto(f"{portal_url}/login?next=/me")
        page.fill("#identifier", quick_start.banner_value(r"citizen ID number\s+(\d+)"))
        page.fill("#password", quick_start.banner_value(r"citizen password\s+(\S+)"))
        page.click("button[type=submit]")
        page.click("button[value=allow]")
        page.wait_for_url(f"{portal_url}/me")
        with_password = json.loads(page.locator("body").inner_text())

        page.goto(f"{issuer}/account?lang=vi")  # the provider session is fresh: no second login
        page.fill("#passkey-name", "Điện thoại")
        page.click("#add-passkey")
        page.click("#create-passkey")
        page.wait_for_selector("#recovery-codes")  # the demo citizen's first strong factor: its codes, once
        page.goto(f"{issuer}/account?lang=vi")
        page.wait_for_selector("#passkeys")

        authorize: list[str] = []
        page.on("request", lambda request: authorize.append(request.url) if "/authorize?" in request.url else None)
        page.goto(f"{portal_url}/land")  # → /login?prompt=login → the provider's login page
        page.click("#passkey")
        page.wait_for_url(f"{portal_url}/land")
        with_passkey = json.loads(page.locator("body").inner_text())
    context.close()
    return with_password, with_passkey, authorize[-1]


def mock_passkey_login() -> dict:
    """The same portal against the mock, its citizen at the demo citizen's level logging in with a passkey."""
    mock = MockProvider(citizens=[Citizen(sub="demo", name="Nguyễn Văn An", acr="LoA1")])
    mock.register_client("portal", redirect_uris=["http://portal.test/callback"], client_secret="s3cret")
    mock.login_as("demo", method="passkey")
    client = AsyncPostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri="http://portal.test/callback",
        http_client=httpx.AsyncClient(transport=mock.transport()),
    )
    with TestClient(land_portal(client), base_url="http://portal.test", follow_redirects=False) as browser:
        to_login = browser.get("/land").headers["location"]
        to_provider = browser.get(to_login.removeprefix("http://portal.test")).headers["location"]
        browser.get(mock.approve(to_provider).removeprefix("http://portal.test"))
        answer: dict = browser.get("/land").json()
    return answer


@pytest.mark.browser
def test_a_passkey_login_opens_a_requires_amr_page_with_the_same_claims_from_provider_and_mock(quick_start, chromium):
    with_password, with_passkey, asked = real_passkey_login(quick_start, chromium)

    from_mock = mock_passkey_login()

    assert with_password == {"acr": "LoA1", "amr": ["pwd"]}
    assert asked.startswith(f"http://localhost:{quick_start.port}/authorize?") and "prompt=login" in asked
    assert with_passkey == {"acr": "LoA1", "amr": ["hwk", "user", "mfa"]}
    assert from_mock == with_passkey
