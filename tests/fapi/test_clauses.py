"""FAPI 2.0 Security Profile (final), clause by clause, for a portal registered with `profile=fapi2`:
each clause refused when broken and accepted when kept, and, where the profile is per client, a
standard portal in the same provider still treated as before.

Clause numbers are the specification's; the OpenID Foundation's test modules are named where one
exercises the same thing.
"""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest

from tests.fapi.conftest import ClientKey, keyed_portal
from tests.helpers import ISSUER, Pkce, query_of


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# -- §5.3.2.2: pushed authorization requests only ---------------------------------------------------


def test_a_fapi2_portal_cannot_send_a_plain_authorization_request(client, fapi):
    pkce = Pkce()
    plain = {
        "client_id": fapi.portal.client_id,
        "redirect_uri": fapi.portal.redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }

    refused = client.get("/authorize?" + urlencode(plain))
    pushed = fapi.push(pkce)

    assert query_of(refused.headers["location"])["error"] == "invalid_request"
    assert pushed.status_code == 201 and pushed.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


# -- §5.3.2.2: PKCE with S256 only ----------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"code_challenge": None}, {"code_challenge_method": "plain"}])
def test_a_fapi2_request_without_pkce_s256_is_refused_at_par(fapi, changes):
    refused = fapi.push(Pkce(), **changes)
    kept = fapi.push(Pkce())

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert kept.status_code == 201


# -- §5.3.2.1-8: the assertion's audience is the issuer, as a string -----------------------------------


@pytest.mark.parametrize(
    "aud",
    [ISSUER + "/token", [ISSUER], [ISSUER, "https://other.example"]],
    ids=["par-test-token-endpoint-url-as-audience-fails", "single-element-array", "par-test-array-as-audience-fails"],
)
def test_a_fapi2_assertion_with_any_audience_but_the_issuer_string_is_refused(fapi, aud):
    at_par = fapi.push(Pkce(), assertion=fapi.assertion(aud=aud))
    at_token = fapi.refresh("whatever", assertion=fapi.assertion(aud=aud))
    issuer = fapi.push(Pkce(), assertion=fapi.assertion(aud=ISSUER))

    assert at_par.status_code == 401 and at_par.json()["error"] == "invalid_client"
    assert at_token.status_code == 401 and at_token.json()["error"] == "invalid_client"
    assert issuer.status_code == 201


@pytest.mark.parametrize("aud", [ISSUER + "/token", [ISSUER], [ISSUER, "https://other.example"]])
def test_a_standard_portal_keeps_the_audiences_it_used_before(standard, aud):
    pushed = standard.push(Pkce(), assertion=standard.assertion(aud=aud))

    assert pushed.status_code == 201


# -- §5.3.2.1-13: iat and nbf at most 60 s ahead (IDP_CLOCK_LEEWAY is 300 here) --------------------


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_fapi2_assertion_more_than_sixty_seconds_ahead_is_refused(fapi, claim):
    ahead = fapi.push(Pkce(), assertion=fapi.assertion(**{claim: fapi.now + 61}))
    sixty = fapi.push(Pkce(), assertion=fapi.assertion(**{claim: fapi.now + 60}))
    ten = fapi.push(Pkce(), assertion=fapi.assertion(**{claim: fapi.now + 10}))

    assert ahead.status_code == 401 and ahead.json()["error"] == "invalid_client"
    assert sixty.status_code == 201 and ten.status_code == 201


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_fapi2_dpop_proof_more_than_sixty_seconds_ahead_is_refused(fapi, claim):
    ahead = fapi.push(Pkce(), proof=fapi.proof("POST", "/par", **{claim: fapi.now + 61}))
    sixty = fapi.push(Pkce(), proof=fapi.proof("POST", "/par", **{claim: fapi.now + 60}))

    assert ahead.status_code == 400 and ahead.json()["error"] == "invalid_dpop_proof"
    assert sixty.status_code == 201


def test_a_standard_portal_keeps_the_configured_leeway_for_iat(standard):
    pushed = standard.push(Pkce(), assertion=standard.assertion(iat=standard.now + 70))

    assert pushed.status_code == 201


# -- §5.4.1: PS256, ES256 or EdDSA only ------------------------------------------------------------


@pytest.mark.parametrize("alg", ["PS256", "EdDSA", "ES256"])
def test_a_fapi2_portal_may_sign_assertions_with_ps256_es256_or_eddsa(client, provider, alg):
    portal = keyed_portal(client, provider, ClientKey(alg, publish_alg=False))

    pushed = portal.push(Pkce())

    assert pushed.status_code == 201, pushed.text


def test_a_fapi2_assertion_signed_rs256_is_refused_even_when_the_key_names_no_alg(client, provider):
    fapi = keyed_portal(client, provider, ClientKey("RS256", publish_alg=False))
    standard = keyed_portal(client, provider, ClientKey("RS256", publish_alg=False), profile="standard")

    refused, accepted = fapi.push(Pkce()), standard.push(Pkce())

    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert accepted.status_code == 201


def test_an_rs256_dpop_proof_is_refused_at_par_and_userinfo_for_every_portal(fapi, standard, citizen):
    rsa_key = ClientKey("RS256")
    pkce = Pkce()
    code = fapi.login(pkce, citizen)
    token = fapi.exchange(code, pkce).json()["access_token"]

    at_par = [p.push(Pkce(), proof=p.proof("POST", "/par", key=rsa_key)) for p in (fapi, standard)]
    at_userinfo = fapi.http.get(
        "/userinfo",
        headers={"Authorization": f"DPoP {token}", "DPoP": fapi.proof("GET", "/userinfo", token, key=rsa_key)},
    )
    with_es256 = fapi.http.get(
        "/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": fapi.proof("GET", "/userinfo", token)}
    )

    assert [r.json()["error"] for r in at_par] == ["invalid_dpop_proof", "invalid_dpop_proof"]
    assert at_userinfo.status_code == 401 and 'error="invalid_dpop_proof"' in at_userinfo.headers["www-authenticate"]
    assert "RS256" not in at_userinfo.headers["www-authenticate"]
    assert with_es256.status_code == 200


@pytest.mark.parametrize("alg", ["PS256", "EdDSA"])
def test_a_dpop_proof_signed_ps256_or_eddsa_binds_the_token_to_its_key(fapi, citizen, alg):
    fapi.dpop_key = ClientKey(alg)
    pkce = Pkce()
    code = fapi.login(pkce, citizen)

    body = fapi.exchange(code, pkce).json()
    info = fapi.http.get(
        "/userinfo",
        headers={
            "Authorization": f"DPoP {body['access_token']}",
            "DPoP": fapi.proof("GET", "/userinfo", body["access_token"]),
        },
    )

    assert _claims(body["access_token"])["cnf"] == {"jkt": fapi.dpop_key.jkt}
    assert info.status_code == 200


def test_a_fapi2_portals_id_tokens_are_signed_es256(fapi, citizen):
    pkce = Pkce()
    code = fapi.login(pkce, citizen)

    id_token = fapi.exchange(code, pkce).json()["id_token"]

    assert jwt.get_unverified_header(id_token)["alg"] == "ES256"


# -- §5.3.2.1: sender-constrained tokens only (by DPoP) ------------------------------------------


def test_a_fapi2_token_request_without_a_dpop_proof_is_refused(fapi, citizen):
    pkce = Pkce()
    code = fapi.login(pkce, citizen)

    refused = fapi.exchange(code, pkce, proof=None)
    bound = fapi.exchange(code, pkce)

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    assert bound.status_code == 200 and bound.json()["token_type"] == "DPoP"
    assert _claims(bound.json()["access_token"])["cnf"] == {"jkt": fapi.dpop_key.jkt}


# -- §5.3.2.1-11: codes live at most 60 s (IDP_CODE_TTL is 600 here) --------------------------------


def test_a_fapi2_code_expires_after_sixty_seconds_whatever_the_setting(fapi, standard, citizen, clock):
    pkce_a, pkce_b, pkce_c = Pkce(), Pkce(), Pkce()
    late, in_time, other = fapi.login(pkce_a, citizen), fapi.login(pkce_b, citizen), standard.login(pkce_c, citizen)
    clock.advance(59)

    in_time_answer = fapi.exchange(in_time, pkce_b)
    clock.advance(1)  # 60 s after issue: expired
    late_answer, other_answer = fapi.exchange(late, pkce_a), standard.exchange(other, pkce_c)

    assert in_time_answer.status_code == 200
    assert late_answer.status_code == 400 and late_answer.json()["error"] == "invalid_grant"
    assert other_answer.status_code == 200


# -- access tokens at most 10 minutes (IDP_ACCESS_TOKEN_TTL is 3600 here) ------------------------------


def test_a_fapi2_access_token_lives_at_most_ten_minutes_whatever_the_setting(fapi, standard, citizen):
    pkce_a, pkce_b = Pkce(), Pkce()

    mine = fapi.exchange(fapi.login(pkce_a, citizen), pkce_a).json()
    theirs = standard.exchange(standard.login(pkce_b, citizen), pkce_b).json()

    claims = _claims(mine["access_token"])
    assert mine["expires_in"] == 600 and claims["exp"] - claims["iat"] == 600
    assert theirs["expires_in"] == 3600


# -- §5.3.2.1-9: no refresh-token rotation ------------------------------------------------------------


def test_a_fapi2_refresh_token_is_not_rotated_and_a_retry_after_thirty_seconds_still_works(fapi, citizen, clock):
    pkce = Pkce()
    first = fapi.exchange(fapi.login(pkce, citizen), pkce).json()

    answers = []
    for _ in range(3):
        clock.advance(30)  # the OIDF refresh module's wait
        answers.append(fapi.refresh(first["refresh_token"]))

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.json()["refresh_token"] for a in answers} == {first["refresh_token"]}
    assert len({a.json()["access_token"] for a in answers}) == 3
    assert all(a.json()["token_type"] == "DPoP" for a in answers)


def test_a_standard_portals_refresh_token_still_rotates_and_a_late_retry_ends_the_grant(standard, citizen, clock):
    pkce = Pkce()
    first = standard.exchange(standard.login(pkce, citizen), pkce).json()

    rotated = standard.refresh(first["refresh_token"]).json()
    clock.advance(30)
    retry = standard.refresh(first["refresh_token"])
    successor = standard.refresh(rotated["refresh_token"])

    assert rotated["refresh_token"] != first["refresh_token"]
    assert retry.json()["error"] == "invalid_grant" and successor.json()["error"] == "invalid_grant"


def test_a_fapi2_refresh_token_stops_working_once_revoked(fapi, citizen):
    pkce = Pkce()
    first = fapi.exchange(fapi.login(pkce, citizen), pkce).json()

    revoked = fapi.http.post("/revoke", data={"token": first["refresh_token"]} | fapi.auth())
    after = fapi.refresh(first["refresh_token"])

    assert revoked.status_code == 200
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_a_fapi2_refresh_token_is_the_clients_own(fapi, citizen, client, provider):
    pkce = Pkce()
    first = fapi.exchange(fapi.login(pkce, citizen), pkce).json()
    other = keyed_portal(client, provider, ClientKey("ES256"))

    stolen = other.refresh(first["refresh_token"])

    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


# -- §5.3.2.1 / RFC 8414: discovery names exactly what is accepted ---------------------------------


def test_discovery_names_exactly_the_algorithms_each_check_accepts(client):
    meta = client.get("/.well-known/openid-configuration").json()

    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "EdDSA"]
    assert meta["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "PS256", "EdDSA", "RS256"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA", "RS256"])
def test_every_advertised_assertion_algorithm_is_accepted_for_some_portal_and_rs256_only_outside_fapi2(
    client, provider, alg
):
    fapi = keyed_portal(client, provider, ClientKey(alg))
    standard = keyed_portal(client, provider, ClientKey(alg), profile="standard")

    answers = fapi.push(Pkce()).status_code, standard.push(Pkce()).status_code

    assert answers == ((401, 201) if alg == "RS256" else (201, 201))
