"""One suite, two providers: each portal-level scenario runs against the SDK's mock provider and
against the real provider served on 127.0.0.1, with the same assertions. A difference between the
two is a bug in the mock (or the provider): a portal whose tests pass against the mock must work
in production.

Both backends are reached the same way (HTTP on loopback), log in the same citizen (the mock is
given the real seed citizen's details) and are driven through the same pages (`walk_pages`: the
mock auto-approves, so the walk ends at its first redirect).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from idp.bootstrap import open_provider
from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client
from idp.settings import Settings
from postid_client import AsyncPostIDClient, AuthorizationDenied, OAuthError, PostIDClient
from postid_client.starlette_auth import PostIDAuth
from postid_client.testing import Citizen, MockProvider
from tests.helpers import CITIZEN, free_port, seed_served, serving, walk_pages

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough test password"
ALL_SCOPES = ("openid", "profile", "email", "phone", "offline_access", "citizen_id", "national_profile")
# The real provider's seed citizen (tests.helpers.CITIZEN, seeded without an email), as a mock citizen.
MOCK_CITIZEN = Citizen(
    sub="citizen-binh",
    name=CITIZEN.full_name,
    acr="LoA1",
    amr=("pwd",),
    birthdate=CITIZEN.birth_date,
    gender=CITIZEN.sex,
    phone_number="+84912345678",
    citizen_id=CITIZEN.id_number,
)


@dataclass
class Portal:
    client_id: str
    client_secret: str | None
    redirect_uri: str


@dataclass
class Backend:
    """What a scenario needs of a provider; `mock` or `real` differ only in how they are set up."""

    name: str
    issuer: str
    register_portal: Any  # (redirect_uri, **options) -> Portal
    rotate_key: Any  # () -> {"activated": kid | None, "published": kid}
    browsers: list[httpx.Client] = field(default_factory=list)

    def browser(self) -> httpx.Client:
        """The citizen's browser at the provider: it keeps the provider's cookies (single sign-on)."""
        client = httpx.Client(base_url=self.issuer, timeout=30)
        self.browsers.append(client)
        return client

    def sign_in(self, browser: httpx.Client, authorize_url: str, redirect_uri: str) -> str:
        return walk_pages(browser, authorize_url, redirect_uri, CITIZEN.id_number, PASSWORD)

    def jwks_kids(self) -> set[str]:
        return {key["kid"] for key in httpx.get(f"{self.issuer}/jwks").json()["keys"]}


# -- the two backends ----------------------------------------------------------------------------


@contextmanager
def mock_backend() -> Iterator[Backend]:
    provider = MockProvider(citizens=[MOCK_CITIZEN])
    provider.login_as(MOCK_CITIZEN.sub)

    def register(redirect_uri: str, **options: Any) -> Portal:
        secret = "s3cret-" + redirect_uri
        provider.register_client(
            f"portal-{len(provider.clients) + 1}",
            redirect_uris=[redirect_uri],
            client_secret=secret,
            post_logout_redirect_uris=options.get("post_logout_redirect_uris", ()),
            backchannel_logout_uri=options.get("backchannel_logout_uri"),
            scopes=options.get("scopes", ("openid", "profile", "email", "phone", "offline_access")),
            require_par=options.get("require_par", False),
            require_dpop=options.get("require_dpop", False),
        )
        return Portal(f"portal-{len(provider.clients)}", secret, redirect_uri)

    def rotate() -> dict[str, Any]:
        rotation = provider.rotate_key()
        return {"activated": rotation.activated, "published": rotation.published}

    with provider.serve() as issuer:
        backend = Backend("mock", issuer, register, rotate)
        yield backend
        for browser in backend.browsers:
            browser.close()


@contextmanager
def real_backend(tmp_path: Path, keys_dir: Path, database_url: str) -> Iterator[Backend]:
    """`idp serve` on a free port, as tests/e2e/conftest.py's `running_provider` runs it; portals are
    registered through the core (as `idp clients add` does) to spare a CLI start-up each."""
    import shutil

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    shutil.copytree(keys_dir, tmp_path / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ISSUER=issuer,
        IDP_DATA_DIR=str(tmp_path / "data"),
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_DATABASE_URL=database_url,
        IDP_PASSWORD_PROFILE="tests",
        IDP_METRICS_ADDRESS="",
        IDP_KEYS_RESCAN_INTERVAL="1",  # a rotation is served within a second
        IDP_OUTBOUND_ALLOW_PRIVATE="true",  # back-channel logout to portals on loopback
        IDP_INTERACTIONS_PER_ADDRESS="100000",
    )
    settings = Settings.from_env(env)
    seed_served(settings, PASSWORD, "http://127.0.0.1:9/unused")

    def register(redirect_uri: str, **options: Any) -> Portal:
        provider = open_provider(settings)
        try:
            added = register_client(
                provider,
                ClientSpec(
                    name="Cổng thử",
                    redirect_uris=(redirect_uri,),
                    post_logout_redirect_uris=tuple(options.get("post_logout_redirect_uris", ())),
                    backchannel_logout_uri=options.get("backchannel_logout_uri"),
                    scopes=tuple(options.get("scopes", ())),
                    require_par=options.get("require_par", False),
                    require_dpop=options.get("require_dpop", False),
                ),
            )
        finally:
            provider.store.close()
        return Portal(added.client.id, added.secret, redirect_uri)

    def rotate() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "idp.cli", "keys", "rotate", "--alg", "ES256", "--force"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)[0]
        return result

    with serving([sys.executable, "-m", "idp.cli", "serve", "--port", str(port)], env, f"{issuer}/jwks"):
        backend = Backend("real", issuer, register, rotate)
        yield backend
        for browser in backend.browsers:
            browser.close()


@pytest.fixture(params=["mock", "real"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "mock":
        with mock_backend() as mock:
            yield mock
        return
    # The real provider on SQLite: what this suite compares is the protocol, not the storage (the
    # provider's own suites run every store on SQLite and PostgreSQL).
    database = tmp_path / "idp.sqlite3"
    database.write_bytes(Path(request.getfixturevalue("sqlite_template")).read_bytes())
    with real_backend(tmp_path, request.getfixturevalue("keys_dir"), f"sqlite:///{database}") as real:
        yield real


def wait_for(condition: Any, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# -- a portal ------------------------------------------------------------------------------------


def portal_app(client: AsyncPostIDClient, *, scope: str = "openid profile phone offline_access") -> Starlette:
    """A portal with `PostIDAuth`: `/me` shows the session's citizen, `/api` calls the provider's
    userinfo (a protected API) with the session's token, refreshing first when `?refresh=1`."""
    auth = PostIDAuth(client, session_secret="s" * 32, scope=scope)

    async def me(request: Request) -> JSONResponse:
        user = request.state.user
        if user is None:
            return JSONResponse({"logged_in": False}, status_code=401)
        return JSONResponse({"sub": user.sub, "acr": user.acr, "amr": list(user.amr), "claims": dict(user.claims)})

    async def api(request: Request) -> JSONResponse:
        if request.query_params.get("refresh"):
            auth.refresh_margin = 10**6
        try:
            metadata = await client.provider_metadata()
            response = await auth.request(request, "GET", metadata.userinfo_endpoint or "")
        finally:
            auth.refresh_margin = 60
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

    return Starlette(routes=[Route("/me", me), Route("/api", api), *auth.routes], middleware=[auth.middleware])


@contextmanager
def served_portal(app: Starlette, port: int) -> Iterator[str]:
    """The portal on a real port, for the provider's back-channel POST."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 10), "the portal did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def log_in(backend: Backend, browser: TestClient | httpx.Client, portal: Portal, portal_url: str) -> httpx.Response:
    """The citizen clicks "log in with PostID" at the portal and comes back to its callback."""
    to_provider = browser.get(f"{portal_url}/login")
    assert to_provider.status_code in (302, 303), to_provider.text
    callback = backend.sign_in(backend.browser(), to_provider.headers["location"], portal.redirect_uri)
    return browser.get(callback.removeprefix(portal_url) if isinstance(browser, TestClient) else callback)


# -- the scenarios -------------------------------------------------------------------------------


def test_a_citizen_logs_in_to_a_postid_auth_portal_with_userinfo_claims_on_the_user(backend):
    portal_url = f"http://127.0.0.1:{free_port()}"
    portal = backend.register_portal(f"{portal_url}/callback")
    client = AsyncPostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    )
    with TestClient(portal_app(client), base_url=portal_url, follow_redirects=False) as browser:
        back = log_in(backend, browser, portal, portal_url)
        me = browser.get("/me").json()

    assert back.status_code == 303
    assert me["sub"] and me["acr"] == "LoA1" and me["amr"] == ["pwd"]
    assert me["claims"]["name"] == CITIZEN.full_name and me["claims"]["phone_number"] == "+84912345678"


def test_profile_claims_come_from_userinfo_and_never_ride_in_the_id_token(backend):
    portal = backend.register_portal("http://127.0.0.1:9/callback")
    with PostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    ) as client:
        login = client.start_login(scope="openid profile phone")
        tokens = client.finish_login(backend.sign_in(backend.browser(), login.url, portal.redirect_uri), login)
        info = client.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)

    id_token = jwt.decode(tokens.id_token or "", options={"verify_signature": False})
    access = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert set(id_token) == {
        "iss",
        "sub",
        "aud",
        "azp",
        "iat",
        "exp",
        "auth_time",
        "acr",
        "amr",
        "at_hash",
        "sid",
        "nonce",
    }
    assert set(access) == {
        "iss",
        "sub",
        "aud",
        "client_id",
        "iat",
        "exp",
        "jti",
        "scope",
        "auth_time",
        "acr",
        "amr",
        "gid",
    }
    assert jwt.get_unverified_header(tokens.access_token)["typ"] == "at+jwt"
    assert (info["name"], info["birthdate"], info["gender"]) == (CITIZEN.full_name, CITIZEN.birth_date, CITIZEN.sex)
    assert (info["phone_number"], info["phone_number_verified"]) == ("+84912345678", True)
    assert isinstance(info["updated_at"], int) and "email" not in info


def test_the_citizen_id_scope_releases_the_declared_number_and_the_national_profile_its_fields(backend):
    portal = backend.register_portal("http://127.0.0.1:9/callback", scopes=ALL_SCOPES)
    with PostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    ) as client:
        login = client.start_login(scope="openid citizen_id national_profile phone")
        tokens = client.finish_login(backend.sign_in(backend.browser(), login.url, portal.redirect_uri), login)
        info = client.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)

    assert tokens.claims.citizen_id is not None
    assert (tokens.claims.citizen_id.number, tokens.claims.citizen_id.verified) == (CITIZEN.id_number, False)
    assert tokens.claims.get("HoVaTen") is None  # the national profile is released at userinfo only
    assert (info["citizen_id"], info["citizen_id_verified"], info["citizen_id_registry_checked"]) == (
        CITIZEN.id_number,
        False,
        False,
    )
    year, month, day = CITIZEN.birth_date.split("-")
    assert info["HoVaTen"] == CITIZEN.full_name and info["NgayThangNamSinh"] == f"{day}/{month}/{year}"
    assert (info["GioiTinh"], info["SoDienThoai"], info["LoaiTaiKhoan"], info["loAs"]) == (
        "Nam",
        "0912345678",
        "1",
        ["LoA1"],
    )
    assert "SoDinhDanh" not in info  # a declared number never travels under the national name


def test_a_portal_not_allowed_the_citizen_id_scope_is_refused_it(backend):
    portal = backend.register_portal("http://127.0.0.1:9/callback")
    with PostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    ) as client:
        login = client.start_login(scope="openid citizen_id")
        with pytest.raises(AuthorizationDenied) as denied:
            client.finish_login(backend.sign_in(backend.browser(), login.url, portal.redirect_uri), login)

    assert denied.value.error == "invalid_scope"


def test_refresh_rotates_the_token_allows_one_retry_of_a_lost_response_and_a_replay_ends_the_grant(backend):
    portal = backend.register_portal("http://127.0.0.1:9/callback")
    with client_for_sync(backend, portal) as client:
        login = client.start_login(scope="openid offline_access")
        tokens = client.finish_login(backend.sign_in(backend.browser(), login.url, portal.redirect_uri), login)
        refreshed = client.refresh(tokens)
        retried = client.refresh(tokens)  # within 10 s, as if the first answer was lost: works once
        with pytest.raises(OAuthError) as replayed:
            client.refresh(tokens)
        with pytest.raises(OAuthError) as after_replay:  # the replay ended the grant
            client.refresh(retried)

    assert len({tokens.refresh_token, refreshed.refresh_token, retried.refresh_token}) == 3
    assert refreshed.claims.sub == tokens.claims.sub == retried.claims.sub
    assert replayed.value.error == "invalid_grant" and after_replay.value.error == "invalid_grant"


def client_for_sync(backend: Backend, portal: Portal) -> PostIDClient:
    return PostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    )


def test_logging_out_at_one_portal_ends_the_session_at_the_other_by_back_channel(backend):
    port = free_port()
    other_url, portal_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{free_port()}"
    other = backend.register_portal(f"{other_url}/callback", backchannel_logout_uri=f"{other_url}/backchannel-logout")
    portal = backend.register_portal(f"{portal_url}/callback", post_logout_redirect_uris=(f"{portal_url}/",))
    at_provider = backend.browser()  # one browser: single sign-on at the provider
    with (
        served_portal(portal_app(client_for(backend, other)), port),
        httpx.Client(base_url=other_url, timeout=30) as at_other,
        TestClient(portal_app(client_for(backend, portal)), base_url=portal_url, follow_redirects=False) as browser,
    ):
        at_other.get(backend.sign_in(at_provider, at_other.get("/login").headers["location"], other.redirect_uri))
        browser.get(
            backend.sign_in(at_provider, browser.get("/login").headers["location"], portal.redirect_uri).removeprefix(
                portal_url
            )
        )
        before = (at_other.get("/me").status_code, browser.get("/me").status_code)

        to_provider = browser.post("/logout")
        ended = at_provider.get(to_provider.headers["location"])  # the provider ends the citizen's session
        told = wait_for(lambda: at_other.get("/me").status_code == 401)

    assert before == (200, 200)
    assert ended.status_code in (200, 303)
    assert told, "the other portal was not told on its back channel"


def client_for(backend: Backend, portal: Portal, **options: Any) -> AsyncPostIDClient:
    return AsyncPostIDClient(
        backend.issuer,
        portal.client_id,
        client_secret=portal.client_secret,
        redirect_uri=portal.redirect_uri,
        **options,
    )


def test_a_rotated_key_is_published_first_and_signs_from_the_second_step_without_a_failed_login(backend):
    portal = backend.register_portal("http://127.0.0.1:9/callback")
    kids: list[str] = []
    with PostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    ) as client:

        def login_kid() -> str:
            login = client.start_login(scope="openid")
            tokens = client.finish_login(backend.sign_in(backend.browser(), login.url, portal.redirect_uri), login)
            return str(jwt.get_unverified_header(tokens.id_token or "")["kid"])

        kids.append(login_kid())
        first = backend.rotate_key()
        published_in_time = wait_for(lambda: first["published"] in backend.jwks_kids())
        kids.append(login_kid())
        second = backend.rotate_key()
        wait_for(lambda: second["published"] in backend.jwks_kids())
        kids.append(login_kid())

    assert published_in_time
    assert kids[1] == kids[0]  # published, not yet signing
    assert second["activated"] == first["published"] and kids[2] == first["published"]
    assert kids[0] in backend.jwks_kids()  # the retired key stays published


@pytest.mark.parametrize(
    ("options", "dpop", "par"),
    [
        ({}, False, False),
        ({"require_dpop": True}, True, False),
        ({"require_par": True}, False, True),
        ({"require_par": True, "require_dpop": True}, True, True),
    ],
    ids=["plain", "dpop", "par", "par+dpop"],
)
def test_a_postid_auth_portal_logs_in_calls_an_api_and_refreshes(backend, options, dpop, par):
    portal_url = f"http://127.0.0.1:{free_port()}"
    portal = backend.register_portal(f"{portal_url}/callback", **options)
    client = AsyncPostIDClient(
        backend.issuer,
        portal.client_id,
        client_secret=portal.client_secret,
        redirect_uri=portal.redirect_uri,
        dpop=dpop,
        par=par,
    )
    with TestClient(portal_app(client), base_url=portal_url, follow_redirects=False) as browser:
        to_provider = browser.get("/login")
        callback = backend.sign_in(backend.browser(), to_provider.headers["location"], portal.redirect_uri)
        back = browser.get(callback.removeprefix(portal_url))
        first = browser.get("/api", params={"refresh": "1"}).json()
        second = browser.get("/api", params={"refresh": "1"}).json()

    assert ("request_uri=" in to_provider.headers["location"]) == par
    assert ("code_challenge=" in to_provider.headers["location"]) == (not par)
    assert back.status_code == 303, back.text
    assert first["status"] == 200 and first["body"]["name"] == CITIZEN.full_name
    assert first["token_type"] == ("DPoP" if dpop else "Bearer")
    assert second["status"] == 200 and second["body"]["sub"] == first["body"]["sub"]


@pytest.mark.parametrize(
    ("options", "error"),
    [({"require_dpop": True}, "invalid_dpop_proof"), ({"require_par": True}, "invalid_request")],
    ids=["dpop", "par"],
)
def test_a_portal_that_must_use_dpop_or_par_and_does_not_is_refused(backend, options, error):
    portal = backend.register_portal("http://127.0.0.1:9/callback", **options)
    with PostIDClient(
        backend.issuer, portal.client_id, client_secret=portal.client_secret, redirect_uri=portal.redirect_uri
    ) as client:
        login = client.start_login(scope="openid")
        with pytest.raises((OAuthError, AuthorizationDenied)) as refused:
            client.finish_login(backend.sign_in(backend.browser(), login.url, portal.redirect_uri), login)

    assert getattr(refused.value, "error", None) == error
