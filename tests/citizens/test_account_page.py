"""The account page in human terms (issue 15, items 5-7): dates day first on Vietnam's clock, the
level in words, withdrawal asked before it is done, errors tied to their field, and the footer that
says who runs the service, whom to call and where the privacy notice is."""

from __future__ import annotations

import re

import pytest

from tests.helpers import (
    Pkce,
    add_citizen,
    add_portal,
    csrf_of,
    exchange,
    form_action,
    form_errors,
    login_and_consent,
)


@pytest.fixture
def settings(settings):
    return settings.with_overrides(operator_name="Bưu điện tỉnh Điện Biên", help_phone="0215 3825 999")


def _connected(client, provider):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce, scope="openid offline_access")
    tokens = exchange(client, portal, callback["code"], pkce).json()
    return portal, citizen, tokens


def _refreshes(client, portal, tokens):
    refreshed = client.post(
        "/token", auth=portal.basic, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    return refreshed.status_code == 200


def test_the_last_sign_in_reads_day_first_on_vietnam_time_and_the_level_in_words(client, provider, clock):
    _connected(client, provider)  # the FixedClock stands at 2027-01-15 08:00 UTC

    page = client.get("/account").text

    assert '<time datetime="2027-01-15T15:00+07:00">15/01/2027 15:00</time>' in page
    assert "UTC" not in page
    assert re.search(r'<dd id="level">Đã xác minh số điện thoại \(mức 1\)</dd>', page)
    assert '<dd id="birth-date">01/05/1990</dd>' in page


def test_the_connected_service_lists_what_it_receives_item_by_item(client, provider):
    _connected(client, provider)

    page = client.get("/account?lang=en").text

    service = re.search(r'<li data-client="[^"]+">(.*?)</li>\s*</ul>\s*<h2', page, re.S).group(1)
    assert "<h3>Cổng thử nghiệm</h3>" in service and '<ul class="scopes">' in service
    assert "Last sign-in:" in service


def test_withdrawing_is_asked_first_and_only_the_confirmation_withdraws(client, provider):
    portal, _, tokens = _connected(client, provider)
    account = client.get("/account")
    link = re.search(r'href="(/account/connected/withdraw\?[^"]+)"', account.text).group(1).replace("&amp;", "&")

    asked = client.get(link)
    unconfirmed = client.post(
        form_action(asked.text, "/account/connected/withdraw"),
        data={"csrf_token": csrf_of(asked.text), "client_id": portal.client_id},
    )
    still_connected = _refreshes(client, portal, tokens)
    confirmed = client.post(
        form_action(asked.text, "/account/connected/withdraw"),
        data={"csrf_token": csrf_of(asked.text), "client_id": portal.client_id, "confirm": "yes"},
    )

    assert asked.status_code == 200 and "Bạn có chắc muốn thu hồi quyền của Cổng thử nghiệm?" in asked.text
    assert 'id="confirm-withdraw"' in asked.text and 'id="keep"' in asked.text
    assert unconfirmed.status_code == 200 and 'id="confirm-withdraw"' in unconfirmed.text
    assert still_connected
    assert 'id="connected"' not in confirmed.text and "Đã thu hồi quyền" in confirmed.text


def test_a_withdrawal_asked_for_a_portal_not_connected_goes_back_to_the_account(client, provider):
    _connected(client, provider)

    asked = client.get("/account/connected/withdraw?client_id=no-such-portal")

    assert asked.status_code == 303 and asked.headers["location"].endswith("/account?lang=vi")


def test_a_wrong_password_on_the_phone_change_is_tied_to_the_password_field(client, provider):
    _connected(client, provider)
    account = client.get("/account")

    refused = client.post(
        form_action(account.text, "/account/phone"),
        data={"csrf_token": csrf_of(account.text), "phone": "0987 654 321", "password": "not my password"},
    )

    assert form_errors(refused.text) == {"current-password": "Mật khẩu không đúng."}
    assert 'aria-invalid="true" aria-describedby="current-password-error"' in refused.text
    assert 'id="new-phone" name="phone" type="tel" autocomplete="tel" required>' in refused.text


def test_every_page_names_the_operator_the_help_line_and_the_privacy_notice(client, provider):
    page = client.get("/register").text

    footer = re.search(r'<footer class="footer" id="footer">(.*?)</footer>', page, re.S).group(1)
    assert "Bưu điện tỉnh Điện Biên" in footer
    assert '<a href="tel:02153825999" id="help-phone">0215 3825 999</a>' in footer
    assert '<a href="/privacy?lang=vi" id="privacy-link">' in footer
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


def test_the_privacy_notice_names_the_operator_and_how_long_the_log_is_kept(client, provider):
    notice = client.get("/privacy?lang=en")
    icon = client.get("/static/favicon.svg")

    assert notice.status_code == 200 and "Bưu điện tỉnh Điện Biên" in notice.text
    assert f"kept for {provider.settings.audit_retention_days} days" in notice.text
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_an_operator_privacy_url_replaces_our_page_in_the_footer(client, provider):
    provider.settings = provider.settings.with_overrides(privacy_url="https://vnpost.example.vn/quyen-rieng-tu")

    page = client.get("/register").text

    assert '<a href="https://vnpost.example.vn/quyen-rieng-tu" id="privacy-link">' in page
