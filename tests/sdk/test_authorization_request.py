"""Building the authorization URL."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from postid_client import ConfigurationError, LoginRequest

from .conftest import CLIENT_ID, ISSUER, REDIRECT_URI


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_the_authorization_url_uses_the_code_flow_with_a_pkce_s256_challenge(client):
    login = client.start_login()

    params = query(login.url)
    expected = base64.urlsafe_b64encode(hashlib.sha256(login.code_verifier.encode()).digest()).rstrip(b"=").decode()
    assert login.url.startswith(f"{ISSUER}/authorize?")
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == expected
    assert (params["client_id"], params["redirect_uri"]) == (CLIENT_ID, REDIRECT_URI)
    assert (params["state"], params["nonce"]) == (login.state, login.nonce)


def test_every_login_gets_its_own_state_nonce_and_verifier(client):
    first, second = client.start_login(), client.start_login()

    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert first.code_verifier != second.code_verifier
    assert 43 <= len(first.code_verifier) <= 128


def test_the_optional_parameters_reach_the_provider(client):
    login = client.start_login(
        scope="profile email",
        acr_values="LoA2",
        max_age=600,
        prompt="login",
        login_hint="079123456789",
        ui_locales="vi en",
    )

    params = query(login.url)
    assert params["scope"] == "openid profile email"
    assert (params["acr_values"], params["max_age"], params["prompt"]) == ("LoA2", "600", "login")
    assert (params["login_hint"], params["ui_locales"]) == ("079123456789", "vi en")
    assert (login.required_acr, login.max_age) == ("LoA2", 600)


def test_a_portal_wide_required_level_is_asked_for_on_every_login(provider):
    client = provider.client(required_acr="LoA2")

    login = client.start_login()

    assert query(login.url)["acr_values"] == "LoA2"
    assert login.required_acr == "LoA2"


def test_an_unknown_assurance_level_is_refused_before_any_redirect(client):
    with pytest.raises(ConfigurationError):
        client.start_login(acr_values="LoA9")


def test_a_login_request_survives_a_round_trip_through_a_json_session(client):
    login = client.start_login(acr_values="LoA2")

    assert LoginRequest.from_dict(login.to_dict()) == login


def test_injected_entropy_makes_state_and_nonce_reproducible(provider):
    client = provider.client(entropy=lambda size: b"\x01" * size)

    login = client.start_login()

    assert login.state == login.nonce == "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"
