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
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }


def test_discovery_advertises_every_endpoint_and_capability_that_exists(client):
    meta = client.get("/.well-known/openid-configuration").json()

    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
        "pushed_authorization_request_endpoint",
    ):
        path = meta[endpoint].removeprefix(ISSUER)
        probe = (
            client.get(path)
            if endpoint in ("jwks_uri", "userinfo_endpoint", "end_session_endpoint")
            else client.post(path)
        )
        assert probe.status_code != 404, endpoint
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert meta["subject_types_supported"] == ["pairwise", "public"]
    assert meta["acr_values_supported"] == ["LoA1", "LoA2"]
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "EdDSA"]
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


def test_the_published_documents_carry_every_security_and_cache_header(client):
    for path in ("/.well-known/openid-configuration", "/jwks"):
        response = client.get(path)

        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cache-control"].startswith("public, max-age=")
        assert int(response.headers["content-length"]) == len(response.content)
        assert response.headers["x-request-id"]


def test_a_proxy_request_id_is_echoed_on_the_published_documents(client):
    response = client.get("/jwks", headers={"X-Request-ID": "edge-1234abcd"})

    assert response.headers["x-request-id"] == "edge-1234abcd"


def test_head_gives_the_headers_of_the_documents_without_a_body(client):
    got, head = client.get("/jwks"), client.head("/jwks")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]


def test_posting_to_a_published_document_is_refused_with_405(client):
    response = client.post("/.well-known/openid-configuration", content=b"")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_fetches_of_the_published_documents_are_counted_in_the_metrics(client, metrics):
    def count() -> float:
        for line in metrics().splitlines():
            if line.startswith('idp_http_requests_total{endpoint="/jwks",method="GET",status="200"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count()
    client.get("/jwks")
    client.get("/jwks")

    assert count() == before + 2


def test_a_malformed_proxy_request_id_is_replaced_on_the_published_documents(client):
    response = client.get("/jwks", headers={"X-Request-ID": "bad id with spaces; and=more"})

    assert response.headers["x-request-id"] != "bad id with spaces; and=more"
    assert " " not in response.headers["x-request-id"]
