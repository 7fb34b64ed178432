"""Discovery: exact issuer, cached per max-age, served stale through a short outage."""

from __future__ import annotations

import httpx
import pytest

from postid_client import ConfigurationError, IssuerMismatch, PostIDClient, ProviderUnavailable

from .conftest import ISSUER


def test_discovery_naming_another_issuer_is_refused(provider, client):
    provider.discovery_overrides["issuer"] = "https://id.postid.test/"

    with pytest.raises(IssuerMismatch) as caught:
        client.provider_metadata()

    assert caught.value.code == "issuer_mismatch"


def test_discovery_is_read_from_the_issuers_well_known_path(provider, client):
    metadata = client.provider_metadata()

    assert str(provider.requests[0].url) == f"{ISSUER}/.well-known/openid-configuration"
    assert metadata.token_endpoint == f"{ISSUER}/token"
    assert metadata.authorization_response_iss_parameter_supported is True


def test_discovery_is_reused_until_its_max_age_has_passed(provider, client, clock):
    client.provider_metadata()
    clock.advance(299)
    client.provider_metadata()
    clock.advance(2)

    client.provider_metadata()

    assert provider.count("/.well-known/openid-configuration") == 2


def test_discovery_marked_no_store_is_fetched_every_time(provider, client):
    provider.discovery_cache_control = "no-store"

    client.provider_metadata()
    client.provider_metadata()

    assert provider.count("/.well-known/openid-configuration") == 2


def test_stale_discovery_is_served_when_the_provider_is_unreachable(provider, client, clock):
    fresh = client.provider_metadata()
    clock.advance(400)
    provider.down = True

    stale = client.provider_metadata()

    assert stale == fresh


def test_stale_discovery_is_served_when_the_provider_answers_5xx(provider, client, clock):
    fresh = client.provider_metadata()
    clock.advance(400)
    provider.server_error = True

    assert client.provider_metadata() == fresh


def test_while_serving_stale_discovery_the_provider_is_retried_only_every_30_seconds(provider, client, clock):
    client.provider_metadata()
    clock.advance(400)
    provider.down = True
    client.provider_metadata()
    clock.advance(10)
    client.provider_metadata()
    clock.advance(21)

    client.provider_metadata()

    assert provider.count("/.well-known/openid-configuration") == 3


def test_an_unreachable_provider_without_cached_discovery_raises_provider_unavailable(provider, client):
    provider.down = True

    with pytest.raises(ProviderUnavailable) as caught:
        client.provider_metadata()

    assert caught.value.code == "provider_unavailable"


def test_a_plain_http_issuer_is_refused_unless_it_is_loopback():
    with pytest.raises(ConfigurationError):
        PostIDClient("http://id.postid.test", "portal")

    PostIDClient("http://127.0.0.1:8000", "portal").close()


def test_the_sdks_own_http_client_verifies_tls_and_follows_no_redirects():
    client = PostIDClient("https://id.postid.test", "portal")

    http = client._http
    assert isinstance(http, httpx.Client)
    assert http.follow_redirects is False
    assert http.timeout.read == 10.0
    client.close()
