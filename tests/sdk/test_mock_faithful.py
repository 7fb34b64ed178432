"""The mock provider's newer faithfulness, in process: error injection for the next request,
back-channel logout POSTed by `mock.logout(citizen)`, two-step key rotation, DPoP and PAR checks,
verified numbers under the national name, passkey logins, and the standalone server as a subprocess.
(A passkey login's `acr` and `amr` are compared with the real provider's in Chromium in
`test_development_issuer.py`.)"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from postid_client import AsyncPostIDClient, AuthorizationDenied, OAuthError, PostIDClient, PostIDError
from postid_client.dpop import DPoPKey
from postid_client.starlette_auth import PostIDAuth
from postid_client.testing import SUPPORTED_SCOPES, MockProvider
from tests.helpers import free_port

PORTAL = "https://portal.test/callback"


@pytest.fixture
def mock() -> MockProvider:
    provider = MockProvider()
    provider.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret", scopes=SUPPORTED_SCOPES)
    provider.login_as("citizen-lan")
    return provider


def sdk(mock: MockProvider, **options) -> PostIDClient:
    return PostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri=PORTAL,
        http_client=httpx.Client(transport=mock.transport()),
        **options,
    )


# -- error injection -----------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["access_denied", "login_required"])
def test_an_injected_authorization_error_reaches_the_callback_once_with_state_and_iss(mock, error):
    portal = sdk(mock)
    mock.fail_next(error)
    login = portal.start_login()

    with pytest.raises(AuthorizationDenied) as denied:
        portal.finish_login(mock.approve(login.url), login)
    again = portal.start_login()
    tokens = portal.finish_login(mock.approve(again.url), again)

    assert denied.value.error == error
    assert tokens.claims.sub == "citizen-lan"  # spent by one request


def test_an_injected_5xx_answers_the_next_token_request_and_the_sdk_reports_the_provider_down(mock):
    portal = sdk(mock)
    login = portal.start_login()
    callback = mock.approve(login.url)
    mock.fail_next(status=503, endpoint="/token")

    with pytest.raises(PostIDError) as failed:
        portal.finish_login(callback, login)

    assert failed.value.status_code == 503


def test_an_injected_oauth_error_at_the_token_endpoint_is_json_with_status_400(mock):
    portal = sdk(mock)
    login = portal.start_login()
    callback = mock.approve(login.url)
    mock.fail_next("invalid_grant", description="the code expired")

    with pytest.raises(OAuthError) as failed:
        portal.finish_login(callback, login)

    assert (failed.value.error, failed.value.status_code) == ("invalid_grant", 400)
    assert failed.value.error_description == "the code expired"


def test_an_injected_delay_holds_the_next_request_back_through_the_injected_sleep():
    slept: list[float] = []
    mock = MockProvider(sleep=slept.append)
    mock.delay_next(2.5, endpoint="/jwks")
    http = httpx.Client(transport=mock.transport(), base_url=mock.issuer)

    http.get("/.well-known/openid-configuration")
    answered = http.get("/jwks")
    http.get("/jwks")

    assert answered.status_code == 200 and slept == [2.5]


def test_an_injected_delay_makes_a_served_mock_time_out_the_sdk(mock):
    mock.delay_next(2, endpoint="/token")
    with mock.serve() as issuer:
        mock.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret")
        portal = PostIDClient(issuer, "portal", client_secret="s3cret", redirect_uri=PORTAL, timeout=0.5)
        login = portal.start_login()
        callback = httpx.get(login.url).headers["location"]

        with pytest.raises(PostIDError) as failed:
            portal.finish_login(callback, login)

    assert failed.value.code == "provider_unavailable"


# -- back-channel logout -------------------------------------------------------------------------


def portal_with_backchannel(mock: MockProvider) -> tuple[Starlette, PostIDAuth]:
    mock.register_client(
        "portal",
        redirect_uris=["http://portal.test/callback"],
        client_secret="s3cret",
        backchannel_logout_uri="http://portal.test/backchannel-logout",
    )
    client = AsyncPostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri="http://portal.test/callback",
        http_client=httpx.AsyncClient(transport=mock.transport()),
    )
    auth = PostIDAuth(client, session_secret="s" * 32)

    async def me(request: Request) -> JSONResponse:
        user = request.state.user
        return JSONResponse({"sub": user.sub if user else None})

    return Starlette(routes=[Route("/me", me), *auth.routes], middleware=[auth.middleware]), auth


def test_logout_posts_a_logout_token_the_portal_accepts_and_its_session_ends(mock):
    app, _ = portal_with_backchannel(mock)
    with TestClient(app, base_url="http://portal.test", follow_redirects=False) as browser:
        browser.get(mock.approve(browser.get("/login").headers["location"]).removeprefix("http://portal.test"))
        before = browser.get("/me").json()

        deliveries = mock.logout("citizen-lan", http_client=browser)
        after = browser.get("/me").json()

    assert before == {"sub": "citizen-lan"} and after == {"sub": None}
    assert [(d.client_id, d.uri, d.status) for d in deliveries] == [
        ("portal", "http://portal.test/backchannel-logout", 200)
    ]
    claims = jwt.decode(deliveries[0].logout_token, options={"verify_signature": False})
    assert (
        claims["sub"] == "citizen-lan"
        and claims["sid"]
        and jwt.get_unverified_header(deliveries[0].logout_token)["typ"] == "logout+jwt"
    )


def test_logout_revokes_the_sessions_grants_so_refresh_and_access_tokens_die(mock):
    portal = sdk(mock)
    login = portal.start_login(scope="openid offline_access")
    tokens = portal.finish_login(mock.approve(login.url), login)

    mock.logout("citizen-lan")

    with pytest.raises(OAuthError) as refresh:
        portal.refresh(tokens)
    with pytest.raises(OAuthError) as userinfo:
        portal.userinfo(tokens.access_token, expected_sub="citizen-lan")
    assert refresh.value.error == "invalid_grant" and userinfo.value.status_code == 401


def test_logging_in_after_a_logout_starts_a_new_session(mock):
    portal = sdk(mock)
    first = portal.start_login()
    before = portal.finish_login(mock.approve(first.url), first).claims.sid
    mock.logout("citizen-lan")
    second = portal.start_login()

    after = portal.finish_login(mock.approve(second.url), second).claims.sid

    assert before and after and before != after and mock.ended_sessions == [before]


# -- two-step rotation ---------------------------------------------------------------------------


def test_rotation_publishes_a_next_key_first_and_signs_with_it_from_the_second_step(mock):
    portal = sdk(mock)
    first_kid = mock.signing_kid

    step_one = mock.rotate_key()
    jwks_after_one = {key["kid"] for key in mock.jwks["keys"]}
    signing_after_one = mock.signing_kid
    step_two = mock.rotate_key()
    login = portal.start_login()
    tokens = portal.finish_login(mock.approve(login.url), login)

    assert step_one.activated is None and signing_after_one == first_kid
    assert jwks_after_one == {first_kid, step_one.published}
    assert step_two.activated == step_one.published == mock.signing_kid
    assert jwt.get_unverified_header(tokens.id_token or "")["kid"] == step_one.published


def test_a_portal_with_a_fresh_jwks_cache_never_fails_across_two_step_rotations():
    from .conftest import FakeClock

    clock = FakeClock()
    mock = MockProvider(clock=clock)
    mock.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret")
    mock.login_as("citizen-lan")
    portal = PostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri=PORTAL,
        clock=clock,
        http_client=httpx.Client(transport=mock.transport()),
    )
    kids = []
    for _ in range(4):
        login = portal.start_login()
        kids.append(
            jwt.get_unverified_header(portal.finish_login(mock.approve(login.url), login).id_token or "")["kid"]
        )
        mock.rotate_key()
        clock.advance(5)

    assert len(set(kids)) == 3  # the first step only published


# -- DPoP and PAR --------------------------------------------------------------------------------


def test_a_require_dpop_portal_gets_bound_tokens_after_the_nonce_round_trip(mock):
    mock.register_client("bound", redirect_uris=[PORTAL], client_secret="s3cret", require_dpop=True)
    seen: list[httpx.Request] = []
    inner = mock.transport()

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handle_request(request)

    portal = PostIDClient(
        mock.issuer,
        "bound",
        client_secret="s3cret",
        redirect_uri=PORTAL,
        dpop=True,
        http_client=httpx.Client(transport=httpx.MockTransport(record)),
    )
    login = portal.start_login()
    tokens = portal.finish_login(mock.approve(login.url), login)
    info = portal.userinfo(tokens, expected_sub=tokens.claims.sub)

    token_posts = [r for r in seen if r.url.path == "/token"]
    access = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert tokens.token_type == "DPoP" and info["sub"] == "citizen-lan"
    assert access["cnf"]["jkt"] == tokens.dpop_key.thumbprint
    assert len(token_posts) == 2  # the first proof had no nonce and was answered use_dpop_nonce


def dpop_token_request(mock: MockProvider, proof: str) -> httpx.Response:
    http = httpx.Client(transport=mock.transport(), base_url=mock.issuer)
    return http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("portal", "s3cret"), headers={"DPoP": proof}
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"method": "GET"}, "invalid_dpop_proof"),
        ({"url": "https://elsewhere.test/token"}, "invalid_dpop_proof"),
        ({"now_shift": -600}, "invalid_dpop_proof"),
        ({"nonce": None}, "use_dpop_nonce"),
    ],
    ids=["htm", "htu", "stale", "no-nonce"],
)
def test_a_dpop_proof_for_another_request_or_time_or_without_the_nonce_is_refused(mock, change, error):
    key = DPoPKey.generate()
    proof = key.proof(
        change.get("method", "POST"),
        change.get("url", f"{mock.issuer}/token"),
        now=time.time() + change.get("now_shift", 0),
        nonce=change.get("nonce", mock.dpop_nonce),
    )

    answer = dpop_token_request(mock, proof)

    assert (answer.status_code, answer.json()["error"]) == (400, error)
    assert answer.headers["DPoP-Nonce"] == mock.dpop_nonce


def test_a_dpop_proof_works_once(mock):
    proof = DPoPKey.generate().proof("POST", f"{mock.issuer}/token", now=time.time(), nonce=mock.dpop_nonce)
    mock.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret", scopes=("openid", "api.thue"))

    first, second = dpop_token_request(mock, proof), dpop_token_request(mock, proof)

    assert first.status_code == 200 and first.json()["token_type"] == "DPoP"
    assert (second.status_code, second.json()["error"]) == (400, "invalid_dpop_proof")


def test_without_nonces_the_mock_accepts_a_proof_that_carries_none():
    mock = MockProvider(dpop_nonces=False)
    mock.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret", scopes=("openid", "api.thue"))
    proof = DPoPKey.generate().proof("POST", f"{mock.issuer}/token", now=time.time())

    answer = dpop_token_request(mock, proof)

    assert answer.status_code == 200 and "DPoP-Nonce" not in answer.headers


def test_a_bound_access_token_sent_as_bearer_is_refused_at_userinfo(mock):
    mock.register_client("bound", redirect_uris=[PORTAL], client_secret="s3cret", require_dpop=True)
    portal = PostIDClient(
        mock.issuer,
        "bound",
        client_secret="s3cret",
        redirect_uri=PORTAL,
        dpop=True,
        http_client=httpx.Client(transport=mock.transport()),
    )
    login = portal.start_login()
    tokens = portal.finish_login(mock.approve(login.url), login)

    answer = httpx.Client(transport=mock.transport()).get(
        f"{mock.issuer}/userinfo", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )

    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_a_par_request_uri_works_once_and_a_require_par_portal_cannot_skip_it(mock):
    mock.register_client("pushed", redirect_uris=[PORTAL], client_secret="s3cret", require_par=True)
    portal = PostIDClient(
        mock.issuer,
        "pushed",
        client_secret="s3cret",
        redirect_uri=PORTAL,
        par=True,
        http_client=httpx.Client(transport=mock.transport()),
    )
    login = portal.start_login()
    callback = mock.approve(login.url)

    with pytest.raises(AssertionError, match="400"):
        mock.approve(login.url)  # the request_uri was spent
    tokens = portal.finish_login(callback, login)

    assert "request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A" in login.url
    assert tokens.claims.sub == "citizen-lan"


# -- claims ---------------------------------------------------------------------------------------


def test_a_verified_citizen_gets_the_number_under_the_national_name_and_in_the_id_token(mock):
    portal = sdk(mock)
    login = portal.start_login(scope="openid citizen_id national_profile", acr_values="LoA2")
    tokens = portal.finish_login(mock.approve(login.url), login)

    info = portal.userinfo(tokens, expected_sub=tokens.claims.sub)

    assert tokens.claims.citizen_id is not None and tokens.claims.citizen_id.verified is True
    assert info["SoDinhDanh"] == info["citizen_id"] == "001190012345"
    assert info["loAs"] == ["LoA1", "LoA2"] and info["GioiTinh"] == "Nữ" and info["ThuDienTu"] == "lan@example.vn"


def test_the_national_profile_without_the_citizen_id_scope_never_carries_the_number(mock):
    portal = sdk(mock)
    login = portal.start_login(scope="openid national_profile")
    tokens = portal.finish_login(mock.approve(login.url), login)

    info = portal.userinfo(tokens, expected_sub=tokens.claims.sub)

    assert "SoDinhDanh" not in info and "citizen_id" not in info and info["HoVaTen"] == "Nguyễn Thị Lan"


# -- the standalone server -----------------------------------------------------------------------


def test_the_standalone_server_serves_a_portal_in_another_language_with_its_control_api():
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "postid_client.testing",
        "--port",
        str(port),
        "--client-id",
        "php-portal",
        "--client-secret",
        "s3cret",
        "--redirect-uri",
        PORTAL,
        "--login-as",
        "citizen-minh",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = server.stdout.readline() if server.stdout else ""
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the standalone mock did not start"
                time.sleep(0.1)
        with PostIDClient(issuer, "php-portal", client_secret="s3cret", redirect_uri=PORTAL) as portal:
            login = portal.start_login()
            tokens = portal.finish_login(httpx.get(login.url).headers["location"], login)
            queued = httpx.post(f"{issuer}/mock/fail-next", json={"error": "access_denied"})
            refused = portal.start_login()
            with pytest.raises(AuthorizationDenied) as denied:
                portal.finish_login(httpx.get(refused.url).headers["location"], refused)
            rotated = httpx.post(f"{issuer}/mock/rotate-key").json()
            httpx.post(f"{issuer}/mock/login-as", json={"sub": "citizen-lan", "method": "passkey"})
            with_passkey = portal.start_login()
            passkey = portal.finish_login(httpx.get(with_passkey.url).headers["location"], with_passkey)
            bad = httpx.post(f"{issuer}/mock/clients", json={"client_id": "x", "typo": 1})
    finally:
        server.terminate()
        server.wait(10)

    assert issuer in banner
    assert tokens.claims.sub == "citizen-minh"
    assert queued.status_code == 200 and denied.value.error == "access_denied"
    assert rotated["activated"] is None and rotated["published"]
    assert (passkey.claims.acr, passkey.claims.amr) == ("LoA2", ("hwk", "user", "mfa"))
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")


def test_the_control_api_is_off_in_an_in_process_mock(mock):
    answer = httpx.Client(transport=mock.transport()).post(f"{mock.issuer}/mock/login-as", json={"sub": None})

    assert answer.status_code == 404 and mock.auto_login == "citizen-lan"
