"""The callback: state first, then iss (RFC 9207), then the provider's error, then the code."""

from __future__ import annotations

import pytest

from postid_client import AuthorizationDenied, CallbackError, IssuerMismatch, StateMismatch

from .conftest import REDIRECT_URI, callback_url


def test_a_callback_with_another_state_is_refused_before_the_code_is_exchanged(provider, client):
    login = client.start_login()

    with pytest.raises(StateMismatch) as caught:
        client.finish_login(callback_url(login, state="forged"), login)

    assert caught.value.code == "state_mismatch"
    assert provider.count("/token") == 0


def test_a_callback_without_state_is_refused(client):
    login = client.start_login()

    with pytest.raises(StateMismatch):
        client.finish_login(callback_url(login, state=None), login)


def test_a_callback_from_another_issuer_is_refused(provider, client):
    login = client.start_login()

    with pytest.raises(IssuerMismatch):
        client.finish_login(callback_url(login, iss="https://evil.test"), login)

    assert provider.count("/token") == 0


def test_a_callback_without_iss_is_refused_when_the_provider_promises_to_send_it(client):
    login = client.start_login()

    with pytest.raises(IssuerMismatch):
        client.finish_login(callback_url(login, iss=None), login)


def test_a_callback_without_iss_is_accepted_when_the_provider_does_not_send_it(provider, client):
    provider.discovery_overrides["authorization_response_iss_parameter_supported"] = False
    login = client.start_login()
    provider.answer_with_id_token(provider.sign(provider.id_token_claims(login)))

    tokens = client.finish_login(callback_url(login, iss=None), login)

    assert tokens.claims.sub == "citizen-1"


def test_a_provider_error_on_the_callback_keeps_its_error_and_description(client):
    login = client.start_login()
    url = callback_url(
        login, code=None, error="unmet_authentication_requirements", error_description="Tài khoản chưa đạt mức 2"
    )

    with pytest.raises(AuthorizationDenied) as caught:
        client.finish_login(url, login)

    assert caught.value.error == "unmet_authentication_requirements"
    assert caught.value.error_description == "Tài khoản chưa đạt mức 2"
    assert caught.value.code == "authorization_denied"


def test_a_provider_error_with_a_forged_state_is_reported_as_a_state_mismatch(client):
    login = client.start_login()

    with pytest.raises(StateMismatch):
        client.finish_login(callback_url(login, state="forged", code=None, error="access_denied"), login)


def test_a_callback_repeating_a_parameter_is_refused(client):
    login = client.start_login()

    with pytest.raises(CallbackError) as caught:
        client.finish_login(callback_url(login) + "&state=other", login)

    assert caught.value.code == "repeated_parameter"


def test_a_callback_arriving_after_the_login_lifetime_is_refused(client, clock):
    login = client.start_login()
    clock.advance(901)

    with pytest.raises(CallbackError) as caught:
        client.finish_login(callback_url(login), login)

    assert caught.value.code == "login_expired"


def test_the_code_exchange_sends_the_verifier_and_the_exact_redirect_uri(provider, client):
    login = client.start_login()
    provider.answer_with_id_token(provider.sign(provider.id_token_claims(login)))

    client.finish_login({"code": "the-code", "state": login.state, "iss": provider.discovery["issuer"]}, login)

    form = provider.form("/token")
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT_URI,
        "code_verifier": login.code_verifier,
    }
