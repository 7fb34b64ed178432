"""The mock provider a portal's tests use instead of the real one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from postid_client import AuthorizationDenied, OAuthError, PostIDClient, PrivateKeyJwt
from postid_client.testing import Citizen, MockProvider

PORTAL = "https://portal.test/callback"


def params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def mock() -> MockProvider:
    provider = MockProvider()
    provider.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret")
    provider.login_as("citizen-lan")
    return provider


@pytest.fixture
def portal(mock: MockProvider) -> PostIDClient:
    return PostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri=PORTAL,
        http_client=httpx.Client(transport=mock.transport()),
    )


def test_an_auto_approved_login_returns_signed_tokens_and_profile_claims_only_at_userinfo(mock, portal):
    login = portal.start_login(scope="openid profile phone")

    tokens = portal.finish_login(mock.approve(login.url), login)
    info = portal.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)

    assert tokens.claims.sub == "citizen-lan"
    assert tokens.claims.get("name") is None and tokens.claims.get("phone_number") is None  # as in production
    assert info["name"] == "Nguyễn Thị Lan" and info["phone_number"] == "+84912345678"
    assert jwt.get_unverified_header(tokens.access_token)["typ"] == "at+jwt"


def test_a_login_asking_for_loa2_gets_the_citizens_two_factor_methods(mock, portal):
    login = portal.start_login(acr_values="LoA2")

    tokens = portal.finish_login(mock.approve(login.url), login)

    assert (tokens.claims.acr, tokens.claims.amr) == ("LoA2", ("pwd", "otp", "mfa"))


def test_a_login_asking_nothing_of_an_loa2_citizen_is_a_password_only_loa1_login(mock, portal):
    login = portal.start_login()

    tokens = portal.finish_login(mock.approve(login.url), login)

    assert (tokens.claims.acr, tokens.claims.amr) == ("LoA1", ("pwd",))


def test_a_citizen_who_cannot_reach_the_level_gets_unmet_authentication_requirements(mock, portal):
    login = portal.start_login(acr_values="LoA2")

    with pytest.raises(AuthorizationDenied) as caught:
        portal.finish_login(mock.approve(login.url, citizen="citizen-minh"), login)

    assert caught.value.error == "unmet_authentication_requirements"


def test_the_mock_enforces_pkce(mock, portal):
    login = portal.start_login()
    callback = mock.approve(login.url)
    tampered = type(login)(**{**login.to_dict(), "code_verifier": "x" * 64})

    with pytest.raises(OAuthError) as caught:
        portal.finish_login(callback, tampered)

    assert caught.value.error == "invalid_grant"


def test_a_code_works_only_once(mock, portal):
    login = portal.start_login()
    callback = mock.approve(login.url)
    portal.finish_login(callback, login)

    with pytest.raises(OAuthError) as caught:
        portal.finish_login(callback, login)

    assert caught.value.error == "invalid_grant"


def test_an_unregistered_redirect_uri_is_never_redirected_to(mock):
    other = PostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri="https://evil.test/cb",
        http_client=httpx.Client(transport=mock.transport()),
    )
    login = other.start_login()

    with pytest.raises(AssertionError, match="400"):
        mock.approve(login.url)


def test_a_wrong_client_secret_is_refused_with_invalid_client(mock):
    wrong = PostIDClient(
        mock.issuer,
        "portal",
        client_secret="guess",
        redirect_uri=PORTAL,
        http_client=httpx.Client(transport=mock.transport()),
    )
    login = wrong.start_login()

    with pytest.raises(OAuthError) as caught:
        wrong.finish_login(mock.approve(login.url), login)

    assert (caught.value.error, caught.value.status_code) == ("invalid_client", 401)


def test_a_private_key_jwt_portal_logs_in_with_its_registered_jwks(mock):
    auth = PrivateKeyJwt.generate()
    mock.register_client("keyed", redirect_uris=[PORTAL], jwks=auth.public_jwks())
    portal = PostIDClient(
        mock.issuer, "keyed", auth=auth, redirect_uri=PORTAL, http_client=httpx.Client(transport=mock.transport())
    )
    login = portal.start_login()

    tokens = portal.finish_login(mock.approve(login.url), login)

    assert tokens.claims.sub == "citizen-lan"


def test_refresh_tokens_rotate_and_one_replayed_after_the_grace_period_ends_the_grant():
    from .conftest import FakeClock

    clock = FakeClock()
    mock, portal = clocked_mock(clock)
    login = portal.start_login(scope="openid offline_access")
    tokens = portal.finish_login(mock.approve(login.url), login)
    refreshed = portal.refresh(tokens)
    clock.advance(11)  # past the real provider's 10 s grace for a lost response

    with pytest.raises(OAuthError) as replayed:
        portal.refresh(tokens)
    with pytest.raises(OAuthError) as after:
        portal.refresh(refreshed)

    assert refreshed.refresh_token != tokens.refresh_token
    assert replayed.value.error == "invalid_grant" and after.value.error == "invalid_grant"


def clocked_mock(clock) -> tuple[MockProvider, PostIDClient]:
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
    return mock, portal


def test_a_revoked_refresh_token_no_longer_refreshes(mock, portal):
    login = portal.start_login(scope="openid offline_access")
    tokens = portal.finish_login(mock.approve(login.url), login)
    portal.revoke(tokens.refresh_token, token_type_hint="refresh_token")

    with pytest.raises(OAuthError):
        portal.refresh(tokens)


def test_userinfo_releases_the_claims_of_the_granted_scopes(mock, portal):
    login = portal.start_login(scope="openid email")
    tokens = portal.finish_login(mock.approve(login.url), login)

    claims = portal.userinfo(tokens.access_token, expected_sub=tokens.claims.sub)

    assert claims == {"sub": "citizen-lan", "email": "lan@example.vn", "email_verified": True}


def test_key_rotation_at_the_mock_is_followed_by_the_sdk_after_the_refetch_interval():
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
    login = portal.start_login()
    portal.finish_login(mock.approve(login.url), login)
    mock.rotate_key()
    mock.retire_old_keys()
    clock.advance(61)
    login = portal.start_login()

    tokens = portal.finish_login(mock.approve(login.url), login)

    assert tokens.claims.sub == "citizen-lan"


def test_the_mock_produces_back_channel_logout_tokens_the_sdk_accepts(mock, portal):
    token = mock.logout_token("portal", sub="citizen-lan", sid="sid-1")

    logout = portal.validate_logout_token(token)

    assert (logout.sub, logout.sid) == ("citizen-lan", "sid-1")


def test_without_a_chosen_citizen_the_mock_shows_a_chooser_page(mock):
    mock.login_as(None)
    mock.add_citizen(Citizen(sub="citizen-hoa", name="Lê Thị Hoa"))
    url = f"{mock.issuer}/authorize?" + "&".join(
        f"{k}={v}"
        for k, v in {
            "client_id": "portal",
            "redirect_uri": PORTAL,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        }.items()
    )

    page = httpx.Client(transport=mock.transport()).get(url)

    assert page.status_code == 200
    assert "Lê Thị Hoa" in page.text and "mock_citizen=citizen-hoa" in page.text


def test_the_mock_serves_on_a_free_loopback_port(mock):
    with mock.serve() as issuer:
        portal = PostIDClient(issuer, "portal", client_secret="s3cret", redirect_uri=PORTAL)
        login = portal.start_login()
        redirect = httpx.get(login.url)

        tokens = portal.finish_login(redirect.headers["location"], login)

    assert issuer.startswith("http://127.0.0.1:")
    assert params(redirect.headers["location"])["iss"] == issuer
    assert tokens.claims.sub == "citizen-lan"


@pytest.mark.anyio
async def test_the_mock_answers_as_an_asgi_app(mock):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock.app), base_url=mock.issuer) as http:
        response = await http.get("/.well-known/openid-configuration")

    assert response.json()["issuer"] == mock.issuer
    assert response.json()["authorization_response_iss_parameter_supported"] is True


# -- passkey logins ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("citizen", "method", "acr", "amr"),
    [
        ("citizen-lan", "passkey", "LoA2", ("hwk", "user", "mfa")),
        ("citizen-lan", "synced_passkey", "LoA2", ("swk", "user", "mfa")),
        ("citizen-lan", "password_and_passkey", "LoA2", ("pwd", "hwk", "user", "mfa")),
        ("citizen-minh", "passkey", "LoA1", ("hwk", "user", "mfa")),
    ],
)
def test_a_passkey_login_reports_the_providers_amr_at_the_accounts_own_level(mock, portal, citizen, method, acr, amr):
    mock.login_as(citizen, method=method)
    login = portal.start_login()  # no level asked: two factors reach the account's level anyway

    tokens = portal.finish_login(mock.approve(login.url), login)
    access = jwt.decode(tokens.access_token, options={"verify_signature": False})

    assert (tokens.claims.acr, tokens.claims.amr) == (acr, amr)
    assert (access["acr"], tuple(access["amr"])) == (acr, amr)


def test_approve_chooses_a_passkey_login_for_one_authorization_only(mock, portal):
    first, second = portal.start_login(), portal.start_login()

    with_passkey = portal.finish_login(mock.approve(first.url, method="passkey"), first)
    then = portal.finish_login(mock.approve(second.url), second)

    assert with_passkey.claims.amr == ("hwk", "user", "mfa") and then.claims.amr == ("pwd",)


def test_a_passkey_does_not_lift_an_unverified_account_to_loa2(mock, portal):
    mock.login_as("citizen-minh", method="passkey")
    login = portal.start_login(acr_values="LoA2")

    with pytest.raises(AuthorizationDenied) as caught:
        portal.finish_login(mock.approve(login.url), login)

    assert caught.value.error == "unmet_authentication_requirements"


def test_an_unknown_login_method_is_refused(mock, portal):
    with pytest.raises(ValueError):
        mock.login_as("citizen-lan", method="fingerprint")  # type: ignore[arg-type]
    answer = httpx.Client(transport=mock.transport()).get(portal.start_login().url + "&mock_method=fingerprint")

    assert answer.status_code == 400 and "unknown mock_method" in answer.text


def test_the_chooser_page_offers_each_citizen_a_passkey_login(mock, portal):
    mock.login_as(None)
    login = portal.start_login()
    browser = httpx.Client(transport=mock.transport(), base_url=mock.issuer)
    page = browser.get(login.url)
    link = next(href for href in page.text.split('href="')[1:] if "mock_method=passkey" in href).split('"')[0]

    callback = browser.get(link.replace("&amp;", "&"), follow_redirects=False).headers["location"]
    tokens = portal.finish_login(callback, login)

    assert tokens.claims.amr == ("hwk", "user", "mfa") and tokens.claims.acr == "LoA2"


def test_the_control_api_logs_the_next_citizens_in_with_a_passkey():
    mock = MockProvider(control_api=True)
    mock.register_client("portal", redirect_uris=[PORTAL], client_secret="s3cret")
    control = httpx.Client(transport=mock.transport(), base_url=mock.issuer)
    portal = PostIDClient(mock.issuer, "portal", client_secret="s3cret", redirect_uri=PORTAL, http_client=control)

    chosen = control.post("/mock/login-as", json={"sub": "citizen-lan", "method": "synced_passkey"})
    bad = control.post("/mock/login-as", json={"sub": "citizen-lan", "method": "face"})
    login = portal.start_login(acr_values="LoA2")
    tokens = portal.finish_login(mock.approve(login.url), login)

    assert chosen.json() == {"login_as": "citizen-lan", "method": "synced_passkey"}
    assert bad.status_code == 400
    assert (tokens.claims.acr, tokens.claims.amr) == ("LoA2", ("swk", "user", "mfa"))


def test_the_standalone_server_refuses_a_login_method_without_a_citizen(capsys):
    from postid_client.testing.__main__ import main

    assert main(["--login-method", "passkey"]) == 2
    assert "--login-method needs --login-as" in capsys.readouterr().err
