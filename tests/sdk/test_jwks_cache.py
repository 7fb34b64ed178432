"""The JWKS cache follows the provider's `Cache-Control: max-age` (within bounds) and refetches on
an unknown `kid`: always for an ID token from the token endpoint, rate-limited for a token anyone
can POST (a back-channel logout token)."""

from __future__ import annotations

import pytest

from postid_client import UnknownSigningKey

from .conftest import log_in, new_ec_key
from .test_backchannel_logout_token import logout_claims


def test_the_jwks_is_refetched_when_the_providers_short_max_age_is_over(provider, client, clock):
    provider.jwks_cache_control = "public, max-age=15"
    log_in(provider, client)
    clock.advance(16)

    log_in(provider, client)

    assert provider.count("/jwks") == 2


def test_a_jwks_is_reused_within_its_max_age(provider, client, clock):
    provider.jwks_cache_control = "public, max-age=15"
    log_in(provider, client)
    clock.advance(14)

    log_in(provider, client)

    assert provider.count("/jwks") == 1


def test_a_key_published_before_it_signs_is_picked_up_by_max_age_alone(provider, client, clock):
    provider.jwks_cache_control = "max-age=15"
    log_in(provider, client)
    provider.keys.append(new_ec_key("key-next"))  # published, not signing yet
    clock.advance(16)
    log_in(provider, client, token=lambda login: provider.sign(provider.id_token_claims(login), key=provider.keys[0]))
    clock.advance(1)

    tokens = log_in(provider, client)  # the new key signs now

    assert tokens.claims.sub == "citizen-1"
    assert provider.count("/jwks") == 2


def test_a_week_long_max_age_is_capped_at_an_hour(provider, client, clock):
    provider.jwks_cache_control = "max-age=604800"
    log_in(provider, client)
    clock.advance(3601)

    log_in(provider, client)

    assert provider.count("/jwks") == 2


def test_a_no_store_jwks_is_still_kept_for_the_lower_bound(provider, client, clock):
    provider.jwks_cache_control = "no-store"
    log_in(provider, client)
    clock.advance(1)
    log_in(provider, client)
    clock.advance(5)

    log_in(provider, client)

    assert provider.count("/jwks") == 2


def test_junk_logout_tokens_with_unknown_kids_cost_one_jwks_fetch_per_cooldown(provider, client, clock):
    log_in(provider, client)
    clock.advance(1)
    stranger = new_ec_key("key-unknown")

    for _ in range(20):
        with pytest.raises(UnknownSigningKey):
            client.validate_logout_token(provider.sign(logout_claims(clock()), key=stranger, typ="logout+jwt"))
    clock.advance(10)
    with pytest.raises(UnknownSigningKey):
        client.validate_logout_token(provider.sign(logout_claims(clock()), key=stranger, typ="logout+jwt"))

    assert provider.count("/jwks") == 2
