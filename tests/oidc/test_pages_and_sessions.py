"""The login and consent pages, the browser session they start, and single sign-on."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from idp.app import create_app
from tests.helpers import (
    ISSUER,
    Pkce,
    add_portal,
    authorize_params,
    csrf_of,
    form_errors,
    login_and_consent,
    path_of,
    query_of,
)


def _start(client, portal, **overrides):
    response = client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), **overrides)))
    assert response.status_code == 303
    return response


def _login_form(client, portal, **overrides):
    start = _start(client, portal, **overrides)
    page = client.get(path_of(start.headers["location"]))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    return page, action


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client, portal, citizen):
    record, _ = citizen
    page, action = _login_form(client, portal)

    wrong = client.post(
        action, data={"csrf_token": csrf_of(page.text), "identifier": record.id_number, "password": "not the password"}
    )
    unknown = client.post(
        action, data={"csrf_token": csrf_of(page.text), "identifier": "079090000999", "password": "not the password"}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert form_errors(wrong.text) == form_errors(unknown.text)
    assert list(form_errors(wrong.text)) == ["password"]
    assert "set-cookie" not in wrong.headers or "idp_session" not in wrong.headers["set-cookie"]


def test_a_citizen_can_log_in_with_the_phone_number_in_any_accepted_form(client, portal, citizen):
    _, password = citizen

    callback = login_and_consent(client, portal, "+84 912.345.678", password)

    assert "code" in callback


def test_the_login_form_without_its_csrf_token_is_refused(client, portal, citizen):
    record, password = citizen
    _, action = _login_form(client, portal)

    response = client.post(action, data={"csrf_token": "forged", "identifier": record.id_number, "password": password})

    assert response.status_code == 403


def test_an_interaction_opened_in_another_browser_is_refused(client, provider, portal, citizen):
    record, password = citizen
    page, action = _login_form(client, portal)
    with TestClient(create_app(provider), base_url=ISSUER, follow_redirects=False) as other_browser:
        response = other_browser.post(
            action, data={"csrf_token": csrf_of(page.text), "identifier": record.id_number, "password": password}
        )

    assert response.status_code == 400


def test_the_session_cookie_is_host_prefixed_secure_httponly_and_lax(client, portal, citizen):
    record, password = citizen
    page, action = _login_form(client, portal, scope="openid")

    response = client.post(
        action, data={"csrf_token": csrf_of(page.text), "identifier": record.id_number, "password": password}
    )

    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-idp_session="))
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= attributes
    assert not any(a.startswith("domain=") for a in attributes)


def test_a_second_portal_signs_the_citizen_in_without_a_password(client, provider, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    second = add_portal(provider)

    consent_step = _start(client, second)
    page = client.get(path_of(consent_step.headers["location"]))

    assert 'name="password"' not in page.text and 'value="allow"' in page.text


def test_a_remembered_consent_returns_a_code_at_once(client, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)

    again = _start(client, portal, state="again")

    query = query_of(again.headers["location"])
    assert again.headers["location"].startswith(portal.redirect_uri) and query["state"] == "again" and query["code"]


def test_prompt_none_with_a_live_session_and_consent_returns_a_code_silently(client, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)

    silent = _start(client, portal, prompt="none")

    assert "code" in query_of(silent.headers["location"])


def test_prompt_none_without_a_session_answers_login_required(client, portal):
    response = _start(client, portal, prompt="none", state="s")

    query = query_of(response.headers["location"])
    assert query["error"] == "login_required" and query["state"] == "s" and query["iss"] == ISSUER


def test_prompt_none_without_consent_answers_consent_required(client, provider, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    second = add_portal(provider)

    response = _start(client, second, prompt="none")

    assert query_of(response.headers["location"])["error"] == "consent_required"


def test_prompt_login_asks_for_the_password_again(client, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)

    page, _ = _login_form(client, portal, prompt="login")

    assert 'name="password"' in page.text


def test_prompt_consent_asks_again_even_when_consent_is_remembered(client, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)

    start = _start(client, portal, prompt="consent")
    page = client.get(path_of(start.headers["location"]))

    assert 'value="allow"' in page.text


def test_max_age_exceeded_asks_for_the_password_again(client, clock, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    clock.advance(120)

    page, _ = _login_form(client, portal, max_age="60")

    assert 'name="password"' in page.text


def test_max_age_not_exceeded_reuses_the_session(client, clock, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    clock.advance(30)

    response = _start(client, portal, max_age="60")

    assert "code" in query_of(response.headers["location"])


def test_an_idle_session_is_no_longer_used(client, clock, provider, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    clock.advance(provider.settings.session_idle_ttl + 1)

    response = _start(client, portal, prompt="none")

    assert query_of(response.headers["location"])["error"] == "login_required"


def test_denying_consent_sends_access_denied_to_the_portal(client, portal, citizen):
    record, password = citizen

    callback = login_and_consent(client, portal, record.id_number, password, consent=False, state="d")

    assert callback["error"] == "access_denied" and callback["state"] == "d"


def test_the_consent_page_lists_what_the_portal_asks_for(client, portal, citizen):
    record, password = citizen
    page, action = _login_form(client, portal, scope="openid email phone")
    consent = client.post(
        action, data={"csrf_token": csrf_of(page.text), "identifier": record.id_number, "password": password}
    )

    shown = client.get(path_of(consent.headers["location"]))

    assert set(re.findall(r'data-scope="([a-z_]+)"', shown.text)) == {"openid", "email", "phone"}


def test_asking_for_loa2_that_a_password_login_cannot_reach_is_refused(client, portal, citizen):
    record, password = citizen

    callback = login_and_consent(client, portal, record.id_number, password, acr_values="LoA2")

    assert callback["error"] == "unmet_authentication_requirements"


def test_logging_out_ends_the_session(client, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    confirm = client.get("/logout")

    client.post("/logout", data={"csrf_token": csrf_of(confirm.text)})

    response = _start(client, portal, prompt="none")
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_logout_without_its_csrf_token_keeps_the_session(client, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)

    refused = client.post("/logout", data={"csrf_token": "forged"})

    assert refused.status_code == 403
    assert "code" in query_of(_start(client, portal, prompt="none").headers["location"])


@pytest.mark.parametrize(
    "ui_locales, expected", [("en", "Log in"), ("vi", "Đăng nhập"), (None, "Đăng nhập"), ("fr en-GB", "Log in")]
)
def test_the_login_page_speaks_the_requested_language_vietnamese_first(client, portal, ui_locales, expected):
    page, _ = _login_form(client, portal, ui_locales=ui_locales)

    assert f"<h1>{expected}</h1>" in page.text


def test_pages_forbid_framing_and_inline_script(client, portal):
    page, _ = _login_form(client, portal)

    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_a_double_clicked_allow_answers_the_portal_twice_with_two_different_single_use_codes(client, portal, citizen):
    record, password = citizen
    page, action = _login_form(client, portal, scope="openid")
    consent = client.post(
        action, data={"csrf_token": csrf_of(page.text), "identifier": record.id_number, "password": password}
    )
    consent_page = client.get(path_of(consent.headers["location"]))
    consent_action = re.search(r'<form method="post" action="([^"]+)"', consent_page.text).group(1)
    first = client.post(consent_action, data={"csrf_token": csrf_of(consent_page.text), "decision": "allow"})

    second = client.post(consent_action, data={"csrf_token": csrf_of(consent_page.text), "decision": "allow"})

    assert first.status_code == second.status_code == 303
    one, two = query_of(first.headers["location"]), query_of(second.headers["location"])
    assert second.headers["location"].startswith(portal.redirect_uri)
    assert one["state"] == two["state"] and one["code"] != two["code"]


def test_a_locked_account_loses_single_sign_on_at_once(client, provider, portal, citizen):
    record, password = citizen
    login_and_consent(client, portal, record.id_number, password)
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET status = 'locked' WHERE id = :id"), {"id": record.id})

    response = _start(client, portal, prompt="none")

    assert query_of(response.headers["location"])["error"] == "login_required"


def test_a_locked_account_gets_the_wrong_password_answer_even_with_the_right_password(
    client, provider, portal, citizen
):
    record, password = citizen
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET status = 'locked' WHERE id = :id"), {"id": record.id})
    page, action = _login_form(client, portal)

    response = client.post(
        action, data={"csrf_token": csrf_of(page.text), "identifier": record.id_number, "password": password}
    )

    assert response.status_code == 401 and "idp_session" not in response.headers.get("set-cookie", "")
    assert "not correct" in response.text or "không đúng" in response.text
