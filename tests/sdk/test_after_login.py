"""Userinfo, refresh, revocation and RP-initiated logout."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postid_client import ConfigurationError, InvalidProviderResponse, OAuthError, SubjectMismatch

from .conftest import ACCESS_TOKEN, CLIENT_ID, ISSUER, log_in


def test_userinfo_is_fetched_with_the_bearer_access_token(provider, client):
    provider.userinfo_body = {"sub": "citizen-1", "email": "an@example.vn"}

    claims = client.userinfo(ACCESS_TOKEN, expected_sub="citizen-1")

    request = provider.requests[-1]
    assert request.method == "GET"
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert claims["email"] == "an@example.vn"


def test_userinfo_about_another_subject_is_refused(provider, client):
    provider.userinfo_body = {"sub": "someone-else", "name": "Kẻ Giả Mạo"}

    with pytest.raises(SubjectMismatch) as caught:
        client.userinfo(ACCESS_TOKEN, expected_sub="citizen-1")

    assert caught.value.code == "sub_mismatch"


def test_an_invalid_access_token_at_userinfo_reports_the_bearer_challenge_error():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/userinfo":
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'}
            )
        from .conftest import FakeClock, FakeProvider

        return FakeProvider(FakeClock()).handler(request)

    from postid_client import PostIDClient

    client = PostIDClient(ISSUER, CLIENT_ID, http_client=httpx.Client(transport=httpx.MockTransport(handler)))

    with pytest.raises(OAuthError) as caught:
        client.userinfo("stale", expected_sub="citizen-1")

    assert (caught.value.error, caught.value.error_description, caught.value.status_code) == (
        "invalid_token",
        "expired",
        401,
    )


def test_refresh_returns_the_rotated_refresh_token_and_checks_the_new_id_token_subject(provider, client):
    tokens = log_in(provider, client)
    refreshed_claims = provider.id_token_claims(client.start_login(), nonce=None)
    provider.answer_with_id_token(provider.sign(refreshed_claims), refresh_token="rotated")

    refreshed = client.refresh("old-refresh-token", subject=tokens.claims.sub)

    assert refreshed.refresh_token == "rotated"
    assert refreshed.claims.sub == "citizen-1"
    assert provider.form("/token") == {"grant_type": "refresh_token", "refresh_token": "old-refresh-token"}


def test_a_refreshed_id_token_for_another_subject_is_refused(provider, client):
    claims = provider.id_token_claims(client.start_login(), nonce=None, sub="someone-else")
    provider.answer_with_id_token(provider.sign(claims))

    with pytest.raises(SubjectMismatch):
        client.refresh("refresh-token", subject="citizen-1")


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(provider, client):
    provider.token_body = {"access_token": "new-access", "token_type": "Bearer", "expires_in": 300}

    refreshed = client.refresh("still-valid", subject="citizen-1")

    assert refreshed.refresh_token == "still-valid"
    assert refreshed.id_token_claims is None


def test_a_token_response_of_another_token_type_is_refused(provider, client):
    provider.token_body = {"access_token": "x", "token_type": "MAC"}

    with pytest.raises(InvalidProviderResponse):
        client.refresh("refresh-token", subject="citizen-1")


def test_a_refresh_of_a_token_set_checks_the_new_id_token_names_the_same_citizen(provider, client):
    tokens = log_in(provider, client)
    tokens = dataclasses.replace(tokens, refresh_token="refresh-token")
    claims = provider.id_token_claims(client.start_login(), nonce=None, sub="someone-else")
    provider.answer_with_id_token(provider.sign(claims))

    with pytest.raises(SubjectMismatch):
        client.refresh(tokens)


def test_a_bare_refresh_token_cannot_be_refreshed_without_naming_its_citizen(provider, client):
    claims = provider.id_token_claims(client.start_login(), nonce=None, sub="someone-else")
    provider.answer_with_id_token(provider.sign(claims))

    with pytest.raises(ConfigurationError):
        client.refresh("refresh-token", subject="")  # type: ignore[call-overload]

    assert provider.count("/token") == 0


def test_a_dpop_token_type_is_refused_when_no_proof_was_sent(provider, client):
    provider.token_body = {"access_token": "x", "token_type": "DPoP"}

    with pytest.raises(InvalidProviderResponse):
        client.refresh("refresh-token", subject="citizen-1")


def test_revocation_posts_the_token_with_its_type_hint_and_client_authentication(provider, client):
    client.revoke("refresh-token", token_type_hint="refresh_token")

    request = provider.requests[-1]
    assert request.url.path == "/revoke"
    assert "Authorization" in request.headers
    assert provider.form("/revoke") == {"token": "refresh-token", "token_type_hint": "refresh_token"}


def test_the_logout_url_carries_the_hint_the_return_address_state_and_client_id(client):
    url = client.logout_url(
        id_token_hint="id.token.value", post_logout_redirect_uri="https://portal.test/", state="bye"
    )

    params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/logout?")
    assert params == {
        "client_id": CLIENT_ID,
        "id_token_hint": "id.token.value",
        "post_logout_redirect_uri": "https://portal.test/",
        "state": "bye",
    }
