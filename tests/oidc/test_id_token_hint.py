"""Issue 13, item 6: `id_token_hint` at /authorize (OIDC Core §3.1.2.1 and §3.1.2.6).

The hint is proven with our own keys (a retired key still published counts; its expiry does not),
must have been issued to the requesting portal, and names the citizen the portal expects: a code
is never issued for anyone else, whoever holds the browser's session.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from idp.core import keys as key_policy
from idp.core.accounts import CitizenDeclaration
from idp.crypto.jwts import TYP_ID_TOKEN, sign
from idp.crypto.keys import load_keys, rotate_keys
from tests.helpers import (
    Pkce,
    add_citizen,
    add_portal,
    authorize_params,
    csrf_of,
    exchange,
    form_action,
    issued_code,
    login_and_consent,
    path_of,
    query_of,
)

OTHER = CitizenDeclaration(
    id_number="001090000124",
    full_name="Lê Văn An",
    birth_date="1990-06-02",
    sex="male",
    phone="0912 345 679",
    email=None,
)


def _id_token(client, provider, portal, citizen) -> str:
    pkce = Pkce()
    return exchange(client, portal, issued_code(provider, portal, citizen, pkce)["code"], pkce).json()["id_token"]


def _authorize(client, portal, **params):
    return client.get("/authorize?" + urlencode(authorize_params(portal, Pkce(), **params)))


def _logged_in(client, provider, portal):
    """A browser where the first citizen is logged in to `portal`; returns (citizen, password)."""
    citizen, password = add_citizen(provider)
    login_and_consent(client, portal, citizen.id_number, password)
    return citizen, password


def test_prompt_none_with_another_citizens_hint_is_login_required_and_issues_no_code(client, provider):
    portal = add_portal(provider)
    _logged_in(client, provider, portal)
    other, _ = add_citizen(provider, declaration=OTHER)
    hint = _id_token(client, provider, portal, other)

    response = _authorize(client, portal, prompt="none", id_token_hint=hint, state="s1")

    answer = query_of(response.headers["location"])
    assert answer["error"] == "login_required" and "code" not in answer and answer["state"] == "s1"


def test_prompt_none_with_the_session_citizens_hint_issues_a_code_even_once_it_expired(client, clock, provider):
    portal = add_portal(provider)  # pairwise subjects: the hint's sub is this portal's view of the citizen
    citizen, _ = _logged_in(client, provider, portal)
    hint = _id_token(client, provider, portal, citizen)
    clock.advance(provider.settings.id_token_ttl + provider.settings.clock_leeway + 60)

    response = _authorize(client, portal, prompt="none", id_token_hint=hint)

    assert "code" in query_of(response.headers["location"])


def test_a_public_subject_portals_hint_is_compared_with_the_citizen_as_that_portal_knows_them(client, provider):
    portal = add_portal(provider, subject_type="public")
    citizen, _ = _logged_in(client, provider, portal)
    other, _ = add_citizen(provider, declaration=OTHER)

    own = _authorize(client, portal, prompt="none", id_token_hint=_id_token(client, provider, portal, citizen))
    theirs = _authorize(client, portal, prompt="none", id_token_hint=_id_token(client, provider, portal, other))

    assert "code" in query_of(own.headers["location"])
    assert query_of(theirs.headers["location"])["error"] == "login_required"


def test_garbage_a_forged_signature_or_a_foreign_key_is_invalid_request_at_the_redirect_uri(client, provider):
    portal = add_portal(provider)
    citizen, _ = _logged_in(client, provider, portal)
    genuine = _id_token(client, provider, portal, citizen)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    header = jwt.get_unverified_header(genuine)
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged_same_kid = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": header["kid"], "typ": "JWT"})
    foreign_kid = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": "theirs", "typ": "JWT"})
    other_issuer = sign({**claims, "iss": "https://elsewhere.example"}, provider.keys.signer("ES256"), TYP_ID_TOKEN)
    not_an_id_token = sign(claims, provider.keys.signer("ES256"), "at+jwt")

    for hint in ("garbage", genuine[:-8] + "AAAAAAAA", forged_same_kid, foreign_kid, other_issuer, not_an_id_token):
        response = _authorize(client, portal, prompt="none", id_token_hint=hint, state="s2")

        answer = query_of(response.headers["location"])
        assert response.headers["location"].startswith(portal.redirect_uri), hint
        assert answer["error"] == "invalid_request" and answer["state"] == "s2" and "code" not in answer, hint


def test_a_hint_issued_to_another_portal_is_invalid_request(client, provider):
    portal, elsewhere = add_portal(provider), add_portal(provider)
    citizen, _ = _logged_in(client, provider, portal)

    response = _authorize(client, portal, prompt="none", id_token_hint=_id_token(client, provider, elsewhere, citizen))

    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_a_bad_hint_with_an_unregistered_redirect_uri_gets_the_error_page_not_a_redirect(client, provider):
    portal = add_portal(provider)

    response = _authorize(client, portal, id_token_hint="garbage", redirect_uri="https://attacker.example/cb")

    assert response.status_code == 400 and "location" not in response.headers


def test_without_prompt_none_another_citizens_hint_asks_for_that_citizens_login(client, provider):
    portal = add_portal(provider)
    first, first_password = _logged_in(client, provider, portal)
    other, other_password = add_citizen(provider, declaration=OTHER)
    hint = _id_token(client, provider, portal, other)

    asked = _authorize(client, portal, id_token_hint=hint)
    login = client.get(path_of(asked.headers["location"]))
    wrong = client.post(
        form_action(login.text, "/login"),
        data={"csrf_token": csrf_of(login.text), "identifier": first.id_number, "password": first_password},
    )
    again = client.get(path_of(_authorize(client, portal, id_token_hint=hint).headers["location"]))
    right = client.post(
        form_action(again.text, "/login"),
        data={"csrf_token": csrf_of(again.text), "identifier": other.id_number, "password": other_password},
    )

    assert "/interaction/" in asked.headers["location"] and 'name="password"' in login.text
    refused = query_of(wrong.headers["location"])
    assert refused["error"] == "login_required" and "code" not in refused  # the wrong citizen logged in
    assert "code" in query_of(right.headers["location"])  # the citizen the portal expected (consent given before)


def test_a_hint_signed_by_a_retired_key_still_published_is_accepted(client, clock, provider):
    portal = add_portal(provider)
    citizen, _ = _logged_in(client, provider, portal)
    hint = _id_token(client, provider, portal, citizen)
    old_kid = jwt.get_unverified_header(hint)["kid"]
    keys_dir = provider.settings.keys_dir
    for _ in range(2):  # publish a next key, then make it active: the old one retires
        rotate_keys(
            keys_dir,
            "ES256",
            now=clock.now(),
            publish_for=0,
            keep_for=key_policy.keep_retired_for(provider),
            force=True,
        )
    provider.keys = load_keys(keys_dir, now=clock.now())

    response = _authorize(client, portal, prompt="none", id_token_hint=hint, nonce=secrets.token_hex(4))

    assert provider.keys.signer("ES256").kid != old_kid and provider.keys.find(old_kid) is not None
    assert "code" in query_of(response.headers["location"])
