"""One logout, both portals: two demo portals (the SDK's Starlette integration) on 127.0.0.1 share a
citizen's single sign-on; logging out at one ends the session at the other by back channel."""

from __future__ import annotations

import time

import pytest

from tests.e2e.test_sdk_against_provider import DemoPortal, started_demo_portal

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _logged_in(page, portal: DemoPortal) -> bool:
    page.goto(portal.url + "/")
    return page.locator("#name").count() == 1


@pytest.mark.provider_env(IDP_OUTBOUND_ALLOW_PRIVATE="true")  # both portals listen on loopback
def test_logging_out_at_one_portal_ends_the_session_at_the_other(running_provider, chromium):
    with (
        started_demo_portal(running_provider, "Cổng A", "127.0.0.1", backchannel=True) as first,
        started_demo_portal(running_provider, "Cổng B", "localhost", backchannel=True) as second,
    ):
        page = chromium.new_context().new_page()
        page.goto(first.url + "/")
        page.click("#login")
        page.fill("#identifier", running_provider.id_number)
        page.fill("#password", running_provider.password)
        page.click("button[type=submit]")
        page.click("button[value=allow]")
        page.wait_for_url(first.url + "/")
        page.goto(second.url + "/")
        page.click("#login")
        page.click("button[value=allow]")  # single sign-on: no password, only this portal's consent
        page.wait_for_url(second.url + "/")
        both_before = (_logged_in(page, first), _logged_in(page, second))

        page.goto(first.url + "/")
        page.click("button:has-text('Đăng xuất')")
        page.wait_for_url(first.url + "/")
        deadline = time.monotonic() + 10
        while _logged_in(page, second) and time.monotonic() < deadline:
            time.sleep(0.2)

        assert both_before == (True, True)
        assert page.locator("#name").count() == 0 and not _logged_in(page, first)
        page.goto(second.url + "/")
        page.click("#login")
        assert page.locator("#password").count() == 1, "the provider's session must be over too"
