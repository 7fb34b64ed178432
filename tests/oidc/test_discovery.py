"""Discovery and JWKS: what a relying party reads before anything else."""

from __future__ import annotations

from idp.crypto.keys import thumbprint
from tests.helpers import ISSUER


def test_discovery_names_the_issuer_from_settings_whatever_the_host_header(client):
    response = client.get("/.well-known/openid-configuration", headers={"Host": "evil.example"})

    meta = response.json()
    assert meta["issuer"] == ISSUER and meta["token_endpoint"] == ISSUER + "/token"
    assert response.headers["cache-control"].startswith("public, max-age=")


def test_discovery_lists_exactly_the_code_flow_with_s256(client):
    meta = client.get("/.well-known/openid-configuration").json()

    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post",
                                                                  "private_key_jwt", "none"}


def test_discovery_advertises_every_endpoint_and_capability_that_exists(client):
    meta = client.get("/.well-known/openid-configuration").json()

    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint",
                     "introspection_endpoint", "end_session_endpoint", "pushed_authorization_request_endpoint"):
        path = meta[endpoint].removeprefix(ISSUER)
        probe = client.get(path) if endpoint in ("jwks_uri", "userinfo_endpoint", "end_session_endpoint") \
            else client.post(path)
        assert probe.status_code != 404, endpoint
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert meta["subject_types_supported"] == ["pairwise", "public"]
    assert meta["acr_values_supported"] == ["LoA1", "LoA2"]
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "RS256"]
    assert meta["backchannel_logout_supported"] is True
    assert {"citizen_id", "national_profile"} <= set(meta["scopes_supported"])
    assert {"SoDinhDanh", "HoVaTen", "loAs"} <= set(meta["claims_supported"])


def test_jwks_publishes_only_public_members_with_rfc7638_kids(client):
    response = client.get("/jwks")

    keys = response.json()["keys"]
    assert {k["alg"] for k in keys} == {"ES256", "RS256"}
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        assert key["kid"] == thumbprint(key)
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    assert "max-age" in response.headers["cache-control"]
