"""The relying-party SDK (`postid_client`, in `clients/`) against the real provider: the sync and async clients log a
citizen in, validate the ID token, read userinfo, refresh, revoke; a level the provider cannot
reach comes back as the SDK's documented error; the demo portal works in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from postid_client import (
    AsyncPostIDClient,
    AuthorizationDenied,
    NoClientAuth,
    OAuthError,
    PostIDClient,
    PostIDError,
)
from postid_client.starlette_auth import PostIDAuth
from tests.helpers import CITIZEN, free_port, serving, walk_pages

pytestmark = pytest.mark.e2e

SCOPE = "openid profile phone offline_access"


@dataclass
class Registered:
    client_id: str
    client_secret: str | None
    redirect_uri: str


@dataclass
class DemoPortal:
    url: str
    registered: Registered


def _register(running_provider, name: str, redirect_uri: str, *options: str) -> Registered:
    added = subprocess.run(
        [sys.executable, "-m", "idp.cli", "clients", "add", "--name", name, "--redirect-uri", redirect_uri, *options],
        env=running_provider.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    return Registered(created["client_id"], created.get("client_secret"), redirect_uri)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the sync and async clients ------------------------------------------------------------------


def test_the_sync_client_logs_in_reads_userinfo_refreshes_and_revokes(running_provider):
    rp = running_provider
    with (
        PostIDClient(rp.issuer, rp.client_id, client_secret=rp.client_secret, redirect_uri=rp.redirect_uri) as client,
        httpx.Client(base_url=rp.issuer) as browser,
    ):
        login = client.start_login(scope=SCOPE)

        callback = walk_pages(browser, login.url, rp.redirect_uri, rp.id_number, rp.password)
        tokens = client.finish_login(callback, login)
        info = client.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)
        refreshed = client.refresh(tokens.refresh_token, subject=tokens.claims.sub)
        client.revoke(refreshed.refresh_token, token_type_hint="refresh_token")
        with pytest.raises(OAuthError) as refused:
            client.userinfo(refreshed.access_token, expected_sub=tokens.claims.sub)

    assert tokens.claims.sub and tokens.claims.sub != rp.id_number  # an opaque subject, not the ID number
    assert tokens.claims.acr == "LoA1" and tokens.claims.amr == ("pwd",)
    assert info["sub"] == tokens.claims.sub and info["name"] == CITIZEN.full_name
    assert info["phone_number"] == "+84912345678"
    assert refreshed.refresh_token != tokens.refresh_token
    assert refreshed.claims.sub == tokens.claims.sub and refreshed.claims.acr == "LoA1"
    assert refused.value.status_code == 401 and refused.value.error == "invalid_token"


@pytest.mark.anyio
async def test_the_async_client_of_a_public_portal_logs_in_refreshes_and_revokes(running_provider):
    rp = running_provider
    portal = _register(rp, "Cổng công khai", "http://127.0.0.1:9/public-callback", "--auth-method", "none")
    async with AsyncPostIDClient(
        rp.issuer, portal.client_id, auth=NoClientAuth(), redirect_uri=portal.redirect_uri
    ) as client:
        login = await client.start_login(scope=SCOPE)

        with httpx.Client(base_url=rp.issuer) as browser:  # the citizen's browser, not the portal
            callback = walk_pages(browser, login.url, portal.redirect_uri, rp.id_number, rp.password)
        tokens = await client.finish_login(callback, login)
        info = await client.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)
        refreshed = await client.refresh(tokens.refresh_token, subject=tokens.claims.sub)
        await client.revoke(refreshed.refresh_token, token_type_hint="refresh_token")
        with pytest.raises(OAuthError) as refused:
            await client.userinfo(refreshed.access_token, expected_sub=tokens.claims.sub)

    assert portal.client_secret is None
    assert tokens.claims.acr == "LoA1" and tokens.claims.amr == ("pwd",)
    assert tokens.claims.get("aud") in (portal.client_id, [portal.client_id])
    assert info["sub"] == tokens.claims.sub and info["name"] == CITIZEN.full_name
    assert refreshed.refresh_token != tokens.refresh_token
    assert refused.value.status_code == 401 and refused.value.error == "invalid_token"


def test_asking_for_loa2_ends_in_authorization_denied_with_the_providers_error_code(running_provider):
    rp = running_provider
    with (
        PostIDClient(rp.issuer, rp.client_id, client_secret=rp.client_secret, redirect_uri=rp.redirect_uri) as client,
        httpx.Client(base_url=rp.issuer) as browser,
    ):
        login = client.start_login(scope="openid profile", acr_values="LoA2")

        callback = walk_pages(browser, login.url, rp.redirect_uri, rp.id_number, rp.password)
        with pytest.raises(AuthorizationDenied) as denied:  # state and iss are checked before the error
            client.finish_login(callback, login)

    assert denied.value.code == "authorization_denied"
    assert denied.value.error == "unmet_authentication_requirements"


# -- the demo portal in Chromium -----------------------------------------------------------------


@contextmanager
def started_demo_portal(
    running_provider, name: str = "Cổng dịch vụ công (demo)", host: str = "127.0.0.1", backchannel: bool = False
) -> Iterator[DemoPortal]:
    """`python -m postid_client.demo` on a free port, registered with the provider for its callback.
    Give each portal of one test its own host name: browsers scope cookies by host, not port."""
    port = free_port()
    url = f"http://{host}:{port}"
    options = ("--backchannel-logout-uri", f"{url}/backchannel-logout") if backchannel else ()
    registered = _register(running_provider, name, f"{url}/callback", "--post-logout-redirect-uri", f"{url}/", *options)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "POSTID_", "DEMO_"))}
    env.update(
        POSTID_ISSUER=running_provider.issuer,
        POSTID_CLIENT_ID=registered.client_id,
        POSTID_CLIENT_SECRET=registered.client_secret or "",
        POSTID_REDIRECT_URI=registered.redirect_uri,
        DEMO_HOST="127.0.0.1",
        DEMO_PORT=str(port),
    )
    with serving([sys.executable, "-m", "postid_client.demo"], env, f"{url}/"):
        yield DemoPortal(url, registered)


@pytest.fixture
def demo_portal(running_provider) -> Iterator[DemoPortal]:
    with started_demo_portal(running_provider) as portal:
        yield portal


@pytest.mark.browser
def test_a_citizen_logs_in_to_the_demo_portal_is_refused_loa2_and_logs_out(running_provider, demo_portal, chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(demo_portal.url + "/")

    page.click("#login")
    page.fill("#identifier", running_provider.id_number)
    page.fill("#password", running_provider.password)
    page.click("button[type=submit]")
    page.click("button[value=allow]")
    page.wait_for_url(demo_portal.url + "/")
    name, acr, amr = (page.locator(f"#{field}").inner_text() for field in ("name", "acr", "amr"))
    logged_in_text = page.locator("main").inner_text()

    page.click("#loa2")
    page.wait_for_url(demo_portal.registered.redirect_uri + "*")
    refused_url, refused_heading = page.url, page.locator("h1").inner_text()
    refused_text = page.locator("body").inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    refused_fits_a_phone = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    has_viewport = page.locator('meta[name="viewport"]').count()
    shows_loa2_page = page.locator("#loa2-ok").count()

    page.click("text=Về trang chủ")
    page.wait_for_url(demo_portal.url + "/")
    still_name = page.locator("#name").inner_text()

    page.click("button:has-text('Đăng xuất')")
    page.wait_for_url(demo_portal.url + "/")
    logged_out = (page.locator("#login").count(), page.locator("#name").count())
    cookies = [c["name"] for c in context.cookies(demo_portal.url)]
    context.close()

    assert (name, acr, amr) == (CITIZEN.full_name, "LoA1", "pwd")
    assert "Mức 1 (tự đăng ký)" in logged_in_text and "mật khẩu" in logged_in_text
    assert "error=unmet_authentication_requirements" in refused_url
    assert refused_heading == "Đăng nhập không thành công" and "authorization_denied" not in refused_text
    assert "Danh tính trong tài khoản của bạn chưa được xác minh tại quầy" in refused_text  # the provider's reason
    assert has_viewport == 1 and refused_fits_a_phone
    assert shows_loa2_page == 0
    assert still_name == CITIZEN.full_name
    assert logged_out == (1, 0)
    assert "postid_session" not in cookies


# -- PostIDAuth against the real provider: plain, DPoP-bound and PAR-only portals ----------------


def _portal_app(client: AsyncPostIDClient, userinfo_url: str) -> tuple[Starlette, PostIDAuth]:
    """A portal whose `/api` calls the provider's userinfo (a protected API) with the session's
    token; `refresh_margin` covers the whole token lifetime, so every `/api` call refreshes first."""
    auth = PostIDAuth(client, session_secret="s" * 32, scope="openid profile offline_access", refresh_margin=10**6)

    async def api(request: Request) -> JSONResponse:
        response = await auth.request(request, "GET", userinfo_url, headers={"Accept": "application/json"})
        if response is None:
            return JSONResponse({"logged_in": False}, status_code=401)
        tokens = await auth.token_set(request)
        return JSONResponse(
            {
                "status": response.status_code,
                "body": response.json(),
                "token_type": tokens.token_type if tokens else None,
            }
        )

    return Starlette(routes=[Route("/api", api), *auth.routes], middleware=[auth.middleware]), auth


@pytest.mark.parametrize(
    ("options", "dpop", "par"),
    [
        ((), False, False),
        (("--require-dpop",), True, False),
        (("--require-par",), False, True),
        (("--require-par", "--require-dpop"), True, True),
    ],
    ids=["plain", "dpop", "par", "par+dpop"],
)
def test_a_postid_auth_portal_logs_in_calls_an_api_refreshes_and_logs_out(running_provider, options, dpop, par):
    rp = running_provider
    portal_url = f"http://127.0.0.1:{free_port()}"
    portal = _register(rp, "Cổng " + "+".join(options or ("thường",)), f"{portal_url}/callback", *options)
    meta = httpx.get(f"{rp.issuer}/.well-known/openid-configuration").json()
    client = AsyncPostIDClient(
        rp.issuer,
        portal.client_id,
        client_secret=portal.client_secret,
        redirect_uri=portal.redirect_uri,
        dpop=dpop,
        par=par,
    )
    app, _ = _portal_app(client, meta["userinfo_endpoint"])
    with (
        TestClient(app, base_url=portal_url, follow_redirects=False) as browser,
        httpx.Client(base_url=rp.issuer) as at_provider,
    ):
        to_provider = browser.get("/login")
        callback = walk_pages(
            at_provider, to_provider.headers["location"], portal.redirect_uri, rp.id_number, rp.password
        )
        back = browser.get(callback.removeprefix(portal_url))
        first = browser.get("/api").json()
        second = browser.get("/api").json()  # refreshed again: the rotated refresh token worked
        logged_out = browser.post("/logout")
        after = browser.get("/api")

    assert (
        "request_uri=" in to_provider.headers["location"]
        if par
        else "code_challenge=" in to_provider.headers["location"]
    )
    assert back.status_code == 303, back.text
    assert first["status"] == 200 and first["body"]["name"] == CITIZEN.full_name
    assert first["token_type"] == ("DPoP" if dpop else "Bearer")
    assert second["status"] == 200 and second["body"]["sub"] == first["body"]["sub"]
    assert logged_out.status_code == 303 and logged_out.headers["location"].startswith(meta["end_session_endpoint"])
    assert after.status_code == 401


# Many logins from one address in 30 s: the pending-login budget is not what this test is about.
@pytest.mark.provider_env(IDP_JWKS_MAX_AGE="5", IDP_KEYS_RESCAN_INTERVAL="1", IDP_INTERACTIONS_PER_ADDRESS="100000")
def test_logins_through_key_rotations_every_few_seconds_never_fail(running_provider):
    rp = running_provider
    rotations: list[subprocess.CompletedProcess[str]] = []
    stop = threading.Event()

    def rotate_every_few_seconds() -> None:
        while not stop.wait(5):  # a next key must be published IDP_JWKS_MAX_AGE (5 s) before it signs
            rotations.append(
                subprocess.run(
                    [sys.executable, "-m", "idp.cli", "keys", "rotate", "--alg", "ES256"],
                    env=rp.env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
            )

    rotator = threading.Thread(target=rotate_every_few_seconds, daemon=True)
    kids, failures = set(), []
    with PostIDClient(
        rp.issuer, rp.client_id, client_secret=rp.client_secret, redirect_uri=rp.redirect_uri, timeout=30
    ) as client:  # 30 s: a machine shared with other test runs can be slow; only key failures count
        rotator.start()
        deadline = time.monotonic() + 32
        while time.monotonic() < deadline:
            login = client.start_login(scope="openid")
            with httpx.Client(base_url=rp.issuer, timeout=30) as browser:  # a rotation may hold SQLite's lock
                callback = walk_pages(browser, login.url, rp.redirect_uri, rp.id_number, rp.password)
            try:
                tokens = client.finish_login(callback, login)
            except PostIDError as error:
                failures.append(error)
            else:
                kids.add(jwt.get_unverified_header(tokens.id_token)["kid"])
        stop.set()
        rotator.join(60)

    assert all(done.returncode == 0 for done in rotations), [done.stderr for done in rotations]
    assert failures == []
    assert len(kids) >= 3  # the logins really crossed rotations
