"""A portal asking for LoA2 (a level that needs two factors) is offered the passkey first: on the
login page it leads, on the second-factor page it is the default with the app's code next; and an
LoA1 session steps up to LoA2 with the citizen's passkey."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import jwt
from sqlalchemy import text

from tests.factors.authenticator import SoftAuthenticator, enrol_on_account, page_options
from tests.helpers import (
    ISSUER,
    Pkce,
    add_citizen,
    add_portal,
    authorize_params,
    csrf_of,
    exchange,
    form_action,
    path_of,
    query_of,
)
from tests.security.conftest import account_login, enrol_app


def _device():
    return SoftAuthenticator(origin=ISSUER, rp_id=urlsplit(ISSUER).hostname)


def _verified(provider, citizen):
    with provider.store.engine.begin() as conn:
        conn.execute(text("UPDATE citizen SET level = 'LoA2' WHERE id = :id"), {"id": citizen.id})


def _page(client, portal, pkce, **extra):
    start = client.get("/authorize?" + urlencode(authorize_params(portal, pkce, **extra)))
    assert start.status_code == 303, start.text
    return client.get(path_of(start.headers["location"]))


def test_the_login_page_leads_with_the_passkey_when_the_portal_asks_for_loa2(client, provider):
    portal = add_portal(provider)

    strong = _page(client, portal, Pkce(), acr_values="LoA2")
    plain = _page(client, portal, Pkce())

    assert strong.text.index('id="passkey-login"') < strong.text.index("/login?")
    assert 'id="passkey" autofocus' in strong.text
    assert plain.text.index("/login?") < plain.text.index('id="passkey-login"')


def test_an_loa1_session_steps_up_to_loa2_with_the_passkey_offered_before_the_app(client, clock, provider):
    citizen, password = add_citizen(provider)
    portal = add_portal(provider)
    device = _device()
    account_login(client, citizen, password)  # a password login: an LoA1 session
    enrol_app(client, clock)
    enrol_on_account(client, device, "Phone")
    _verified(provider, citizen)
    pkce = Pkce()

    second = _page(client, portal, pkce, acr_values="LoA2")
    other_methods = [m for m in ("totp", "recovery") if f'data-method="{m}"' in second.text]
    done = client.post(
        form_action(second.text, "/passkey"),
        data={"csrf_token": csrf_of(second.text), "credential": device.assert_(page_options(second.text))},
    )
    consent = client.get(path_of(done.headers["location"]))
    back = client.post(
        form_action(consent.text, "/consent"), data={"csrf_token": csrf_of(consent.text), "decision": "allow"}
    )
    token = exchange(client, portal, query_of(back.headers["location"])["code"], pkce).json()
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})

    assert 'id="passkey-second"' in second.text and other_methods == ["totp", "recovery"]
    assert second.text.index('data-method="totp"') < second.text.index('data-method="recovery"')
    assert claims["acr"] == "LoA2" and {"hwk", "user", "mfa"} <= set(claims["amr"])
