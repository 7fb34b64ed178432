"""Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.6)."""

from __future__ import annotations

import pytest

from postid_client import InMemoryReplayCache, ReplayedToken, TokenValidationError

from .conftest import CLIENT_ID, ISSUER

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_claims(now: float, **changes):
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": int(now),
        "exp": int(now) + 120,
        "jti": "logout-1",
        "sid": "session-1",
        "sub": "citizen-1",
        "events": {EVENT: {}},
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def test_a_valid_logout_token_names_the_session_to_end(provider, client, clock):
    token = provider.sign(logout_claims(clock()), typ="logout+jwt")

    logout = client.validate_logout_token(token)

    assert (logout.sub, logout.sid, logout.jti) == ("citizen-1", "session-1", "logout-1")


def test_a_replayed_logout_token_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock()), typ="logout+jwt")
    client.validate_logout_token(token)

    with pytest.raises(ReplayedToken) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "replayed_token"


def test_a_logout_token_carrying_a_nonce_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock(), nonce="n"), typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_nonce"


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt"])
def test_a_logout_token_not_typed_logout_jwt_is_refused(provider, client, clock, typ):
    token = provider.sign(logout_claims(clock()), typ=typ)

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_typ"


@pytest.mark.parametrize("events", [None, {}, {EVENT: {"reason": "x"}}, {EVENT: []}])
def test_a_logout_token_without_the_empty_logout_event_is_refused(provider, client, clock, events):
    claims = logout_claims(clock())
    claims["events"] = events
    token = provider.sign({k: v for k, v in claims.items() if v is not None}, typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_events"


def test_a_logout_token_naming_neither_sub_nor_sid_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock(), sub=None, sid=None), typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_sub"


def test_a_logout_token_without_jti_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock(), jti=None), typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_jti"


def test_an_old_logout_token_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock() - 200, exp=None), typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_iat"


def test_a_logout_token_for_another_portal_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock(), aud="other-portal"), typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_aud"


def test_a_logout_token_from_another_issuer_is_refused(provider, client, clock):
    token = provider.sign(logout_claims(clock(), iss="https://evil.test"), typ="logout+jwt")

    with pytest.raises(TokenValidationError) as caught:
        client.validate_logout_token(token)

    assert caught.value.code == "invalid_iss"


def test_the_replay_cache_forgets_a_jti_once_it_has_expired():
    cache = InMemoryReplayCache()
    cache.add_if_new("jti", expires_at=100, now=0)

    assert cache.add_if_new("jti", expires_at=300, now=99) is False
    assert cache.add_if_new("jti", expires_at=300, now=101) is True
