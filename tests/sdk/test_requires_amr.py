"""Pages guarded by how the citizen logged in (`amr`): the plain check, and `requires_amr` in a
Starlette portal against the mock provider: met, sent to a fresh login once, refused (403) when
that login did not use the method either."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from postid_client import (
    PASSKEY_METHODS,
    AmrRequirement,
    AsyncPostIDClient,
    ConfigurationError,
    PostIDError,
    amr_satisfies,
)
from postid_client.starlette_auth import PostIDAuth, requires_amr
from postid_client.testing import MockProvider

from .conftest import log_in

ORIGIN = "http://portal.test"


# -- the plain check -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amr", "any_of", "all_of", "met"),
    [
        (["hwk", "user", "mfa"], PASSKEY_METHODS, (), True),
        (["swk", "user", "mfa"], PASSKEY_METHODS, (), True),
        (["pwd", "otp", "mfa"], PASSKEY_METHODS, (), False),
        (["pwd", "otp", "mfa"], (), {"mfa"}, True),
        (["pwd"], (), {"mfa"}, False),
        (["pwd", "hwk", "user", "mfa"], {"hwk"}, {"mfa"}, True),
        (["swk", "user"], PASSKEY_METHODS, {"mfa"}, False),
        ([], PASSKEY_METHODS, (), False),
    ],
    ids=["hwk", "swk", "app-code", "mfa", "password-only", "both", "no-mfa", "no-amr"],
)
def test_a_login_meets_a_requirement_when_it_used_every_all_of_and_one_any_of(amr, any_of, all_of, met):
    assert amr_satisfies(amr, any_of=any_of, all_of=all_of) is met


@pytest.mark.parametrize(
    "requirement",
    [{}, {"any_of": {"hwk", "passkey"}}, {"all_of": "mfa"}],
    ids=["empty", "typo", "bare-string"],
)
def test_a_requirement_that_would_admit_everyone_or_no_one_is_refused_at_construction(requirement):
    with pytest.raises(ConfigurationError):
        AmrRequirement(**requirement)


def test_a_requirement_describes_itself_as_it_is_met():
    both = AmrRequirement(any_of=PASSKEY_METHODS, all_of={"mfa"})

    assert both.describe() == "mfa and (hwk or swk)"
    assert AmrRequirement(any_of=PASSKEY_METHODS).describe() == "hwk or swk"
    assert AmrRequirement(all_of={"mfa", "pwd"}).describe() == "mfa and pwd"


def test_the_validated_id_token_says_whether_the_login_used_a_passkey(provider, client):
    passkey = log_in(provider, client, amr=["hwk", "user", "mfa"]).claims
    password = log_in(provider, client, amr=["pwd", "otp", "mfa"]).claims

    assert passkey.amr_includes(any_of=PASSKEY_METHODS) is True
    assert password.amr_includes(any_of=PASSKEY_METHODS) is False
    assert password.amr_includes(all_of={"mfa"}) is True


# -- requires_amr in a portal --------------------------------------------------------------------


@pytest.fixture
def mock() -> MockProvider:
    provider = MockProvider()
    provider.register_client("portal", redirect_uris=[f"{ORIGIN}/callback"], client_secret="s3cret")
    provider.login_as("citizen-lan")  # asked for no level: a password-only login
    return provider


def portal(mock: MockProvider) -> Starlette:
    client = AsyncPostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri=f"{ORIGIN}/callback",
        http_client=httpx.AsyncClient(transport=mock.transport()),
    )
    auth = PostIDAuth(client, session_secret="s" * 32)

    @requires_amr(any_of=PASSKEY_METHODS)
    async def land(request: Request) -> PlainTextResponse:
        return PlainTextResponse("land records: " + " ".join(request.state.user.amr))

    @requires_amr(all_of={"mfa"})
    async def taxes(request: Request) -> PlainTextResponse:
        return PlainTextResponse("taxes")

    @requires_amr(any_of=PASSKEY_METHODS, level="LoA2")
    async def bank(request: Request) -> PlainTextResponse:
        return PlainTextResponse("bank")

    routes = [Route("/land", land), Route("/taxes", taxes), Route("/bank", bank), *auth.routes]
    return Starlette(routes=routes, middleware=[auth.middleware])


@pytest.fixture
def browser(mock: MockProvider) -> Iterator[TestClient]:
    with TestClient(portal(mock), base_url=ORIGIN, follow_redirects=False) as browser:
        yield browser


def through_provider(mock: MockProvider, browser: TestClient, login_path: str) -> httpx.Response:
    """The browser goes from the portal's `/login…` to the provider and back to the callback."""
    to_provider = browser.get(login_path)
    back = browser.get(mock.approve(to_provider.headers["location"]).removeprefix(ORIGIN))
    assert back.status_code == 303, back.text
    return to_provider


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_citizen_who_logged_in_with_a_passkey_sees_the_page(mock, browser):
    mock.login_as("citizen-lan", method="passkey")
    through_provider(mock, browser, "/login")

    page = browser.get("/land")

    assert (page.status_code, page.text) == (200, "land records: hwk user mfa")


def test_a_password_login_is_sent_to_log_in_afresh_and_a_passkey_login_then_opens_the_page(mock, browser):
    through_provider(mock, browser, "/login")  # a password

    bounced = browser.get("/land?parcel=7")
    mock.login_as("citizen-lan", method="synced_passkey")
    to_provider = through_provider(mock, browser, bounced.headers["location"].removeprefix(ORIGIN))
    page = browser.get("/land?parcel=7")

    assert bounced.status_code == 303
    assert query_of(bounced.headers["location"]) == {"next": ["/land?parcel=7"], "prompt": ["login"]}
    assert query_of(to_provider.headers["location"])["prompt"] == ["login"]
    assert "acr_values" not in query_of(to_provider.headers["location"])
    assert (page.status_code, page.text) == (200, "land records: swk user mfa")


def test_a_second_login_without_the_method_gets_a_clear_403_instead_of_another_round(mock, browser):
    through_provider(mock, browser, "/login")
    bounced = browser.get("/land")
    through_provider(mock, browser, bounced.headers["location"].removeprefix(ORIGIN))  # a password again

    refused = browser.get("/land")
    again = browser.get("/land")

    assert refused.status_code == 403 and again.status_code == 403
    assert "<h1>Trang này cần một cách đăng nhập khác</h1>" in refused.text
    assert 'id="code">unmet_amr<' in refused.text and 'id="required">hwk or swk<' in refused.text
    assert "passkey" in refused.text and "khóa truy cập" in refused.text
    assert "You logged in with: a password." in refused.text and "Bạn đã đăng nhập bằng: mật khẩu." in refused.text
    assert 'id="retry" href="/login?next=%2Fland&amp;prompt=login"' in refused.text


def test_a_citizen_who_arrives_without_a_session_is_sent_straight_to_a_fresh_login(mock, browser):
    bounced = browser.get("/land")

    assert bounced.status_code == 303
    assert query_of(bounced.headers["location"]) == {"next": ["/land"], "prompt": ["login"]}


def test_a_fresh_login_made_for_one_page_never_refuses_another_page_without_asking(mock, browser):
    through_provider(mock, browser, "/login")
    through_provider(mock, browser, browser.get("/taxes").headers["location"].removeprefix(ORIGIN))

    taxes = browser.get("/taxes")
    land = browser.get("/land")

    assert taxes.status_code == 403  # the fresh login made for it was a password again
    assert land.status_code == 303 and query_of(land.headers["location"])["next"] == ["/land"]


def test_a_requirement_with_a_level_asks_the_provider_for_it_with_the_fresh_login(mock, browser):
    mock.login_as("citizen-lan", method="passkey")

    bounced = browser.get("/bank")
    to_provider = through_provider(mock, browser, bounced.headers["location"].removeprefix(ORIGIN))
    page = browser.get("/bank")

    assert query_of(bounced.headers["location"]) == {"next": ["/bank"], "prompt": ["login"], "acr_values": ["LoA2"]}
    assert query_of(to_provider.headers["location"])["acr_values"] == ["LoA2"]
    assert page.status_code == 200


def test_a_passkey_login_below_the_required_level_is_refused_not_looped(mock, browser):
    mock.login_as("citizen-minh", method="passkey")  # self-registered: LoA1 even with a passkey
    through_provider(mock, browser, "/login")
    bounced = browser.get("/bank")

    to_provider = browser.get(bounced.headers["location"].removeprefix(ORIGIN))
    answer = browser.get(mock.approve(to_provider.headers["location"]).removeprefix(ORIGIN))

    assert bounced.status_code == 303
    assert answer.status_code == 403 and "unmet_authentication_requirements" in answer.text


def test_the_login_route_accepts_only_prompt_login(browser):
    assert browser.get("/login?prompt=none").status_code == 400
    assert browser.get("/login?prompt=login").status_code == 302


def test_the_refusal_reaches_a_portals_own_error_handler_with_what_was_asked_and_used(mock):
    seen: list[PostIDError] = []

    async def handler(request: Request, error: PostIDError) -> PlainTextResponse:
        seen.append(error)
        return PlainTextResponse(error.code, status_code=418)

    client = AsyncPostIDClient(
        mock.issuer,
        "portal",
        client_secret="s3cret",
        redirect_uri=f"{ORIGIN}/callback",
        http_client=httpx.AsyncClient(transport=mock.transport()),
    )
    auth = PostIDAuth(client, session_secret="s" * 32, error_handler=handler)
    guarded = requires_amr(any_of={"hwk"})(lambda request: PlainTextResponse("never"))
    app = Starlette(routes=[Route("/land", guarded), *auth.routes], middleware=[auth.middleware])
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as browser:
        mock.login_as("citizen-lan", method="synced_passkey")  # a synced key is not a device-bound one
        through_provider(mock, browser, browser.get("/land").headers["location"].removeprefix(ORIGIN))

        refused = browser.get("/land")

    assert (refused.status_code, refused.text) == (418, "unmet_amr")
    assert seen[0].required == AmrRequirement(any_of={"hwk"})  # type: ignore[attr-defined]
    assert seen[0].used == ("swk", "user", "mfa")  # type: ignore[attr-defined]
