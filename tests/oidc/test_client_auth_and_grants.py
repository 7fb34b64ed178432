"""client_credentials, introspection (RFC 7662) and private_key_jwt (RFC 7523)."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from idp.core import policy
from idp.delivery.client_jwks import JwksFetcher
from idp.store.repositories import Store
from tests.helpers import ISSUER, Pkce, add_citizen, add_portal, exchange, issued_code

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ClientKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.kid = secrets.token_hex(4)
        jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.public_jwk = {**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}

    def assertion(self, client_id: str, now: int, **changes) -> str:
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": ISSUER,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_hex(8),
            **changes,
        }
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None},
            self.private,
            algorithm="ES256",
            headers={"kid": self.kid},
        )


def _hs256(header: dict, claims: dict, secret: bytes) -> str:
    """An HMAC-signed JWT keyed with public key bytes: the algorithm-confusion attack."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def _cc(client, portal, scope=None):
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    return client.post("/token", auth=portal.basic, data=data)


@pytest.fixture
def backend(provider):
    return add_portal(
        provider,
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["profile", "notices.send", "payments.read"],
    )


def test_a_portal_backend_gets_a_token_for_itself_with_client_credentials(client, provider, backend):
    response = _cc(client, backend)

    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert response.status_code == 200 and claims["sub"] == backend.client_id and "refresh_token" not in body
    assert body["scope"] == "notices.send payments.read"
    assert _cc(client, backend, scope="payments.read").json()["scope"] == "payments.read"
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 401


def test_client_credentials_never_carries_citizen_scopes(client, backend):
    response = _cc(client, backend, scope="profile")

    assert response.json()["error"] == "invalid_scope"


def test_a_client_not_registered_for_client_credentials_is_refused(client, provider):
    portal = add_portal(provider)

    response = _cc(client, portal)

    assert response.json()["error"] == "unauthorized_client"


@pytest.fixture
def tokens(client, provider):
    portal = add_portal(provider)
    citizen, _ = add_citizen(provider)
    pkce = Pkce()
    code = issued_code(provider, portal, citizen, pkce, scope="openid profile offline_access")["code"]
    return portal, exchange(client, portal, code, pkce).json()


def test_introspection_describes_a_live_access_token(client, provider, tokens):
    portal, body = tokens
    resource_server = add_portal(provider)

    answer = client.post("/introspect", auth=resource_server.basic, data={"token": body["access_token"]}).json()

    assert answer["active"] is True and answer["client_id"] == portal.client_id and answer["token_type"] == "Bearer"
    assert answer["scope"] == "openid profile offline_access" and answer["acr"] == "LoA1"


def test_introspection_says_inactive_for_revoked_expired_and_forged_tokens(client, clock, provider, tokens):
    portal, body = tokens
    rs = add_portal(provider)
    client.post("/revoke", auth=portal.basic, data={"token": body["access_token"]})

    revoked = client.post("/introspect", auth=rs.basic, data={"token": body["access_token"]}).json()
    forged = client.post("/introspect", auth=rs.basic, data={"token": body["access_token"][:-4] + "AAAA"}).json()
    clock.advance(3600)
    expired = client.post("/introspect", auth=portal.basic, data={"token": body["refresh_token"][:10]}).json()

    assert revoked == forged == expired == {"active": False}


def test_a_refresh_token_is_introspectable_only_by_its_own_client(client, provider, tokens):
    portal, body = tokens
    other = add_portal(provider)

    own = client.post("/introspect", auth=portal.basic, data={"token": body["refresh_token"]}).json()
    foreign = client.post("/introspect", auth=other.basic, data={"token": body["refresh_token"]}).json()

    assert own["active"] is True and own["token_type"] == "refresh_token"
    assert foreign == {"active": False}


def test_introspection_needs_client_authentication(client, tokens):
    _, body = tokens

    assert client.post("/introspect", data={"token": body["access_token"]}).status_code == 401


def test_a_public_client_cannot_introspect_even_with_its_client_id(client, provider, tokens):
    _, body = tokens
    public = add_portal(provider, auth_method="none")

    response = client.post("/introspect", data={"token": body["access_token"], "client_id": public.client_id})

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.fixture
def key():
    return ClientKey()


@pytest.fixture
def signed_portal(provider, key):
    return add_portal(
        provider,
        auth_method="private_key_jwt",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["openid"],
        jwks={"keys": [key.public_jwk]},
    )


def _with_assertion(client, portal, assertion):
    return client.post(
        "/token",
        data={"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion},
    )


def test_a_client_authenticates_with_a_signed_assertion(client, clock, signed_portal, key):
    response = _with_assertion(client, signed_portal, key.assertion(signed_portal.client_id, clock.now()))

    assert response.status_code == 200, response.text


def test_the_token_endpoint_url_is_accepted_as_audience(client, clock, signed_portal, key):
    assertion = key.assertion(signed_portal.client_id, clock.now(), aud=ISSUER + "/token")

    assert _with_assertion(client, signed_portal, assertion).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://other.example"},
        {"exp": 1_800_000_000 + 600},
        {"exp": 1_800_000_000 - 120},
        {"iss": "someone-else"},
        {"jti": None},
    ],
)
def test_a_bad_assertion_is_refused(client, clock, signed_portal, key, changes):
    response = _with_assertion(client, signed_portal, key.assertion(signed_portal.client_id, clock.now(), **changes))

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_an_assertion_jti_is_never_accepted_twice(client, clock, signed_portal, key):
    assertion = key.assertion(signed_portal.client_id, clock.now())

    first, second = _with_assertion(client, signed_portal, assertion), _with_assertion(client, signed_portal, assertion)

    assert first.status_code == 200 and second.status_code == 401


def test_an_assertion_signed_by_another_key_or_with_hmac_is_refused(client, clock, signed_portal, key):
    stranger = ClientKey()
    stranger.kid = key.kid
    hmac_assertion = _hs256(
        {"alg": "HS256", "kid": key.kid},
        {
            "iss": signed_portal.client_id,
            "sub": signed_portal.client_id,
            "aud": ISSUER,
            "exp": clock.now() + 60,
            "jti": "x",
        },
        json.dumps(key.public_jwk).encode(),
    )

    forged = _with_assertion(client, signed_portal, stranger.assertion(signed_portal.client_id, clock.now()))
    hmac_one = _with_assertion(client, signed_portal, hmac_assertion)

    assert forged.status_code == hmac_one.status_code == 401


@pytest.mark.outbound_allow_private  # the portal listens on 127.0.0.1
def test_keys_published_at_a_jwks_uri_are_fetched_and_rotation_is_picked_up(client, clock, provider):
    old, new = ClientKey(), ClientKey()
    published = {"keys": [old.public_jwk]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(published).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        portal = add_portal(
            provider,
            auth_method="private_key_jwt",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["openid"],
            jwks_uri=f"http://127.0.0.1:{server.server_port}/jwks-{secrets.token_hex(4)}.json",
        )

        before = _with_assertion(client, portal, old.assertion(portal.client_id, clock.now()))
        published["keys"] = [new.public_jwk]
        clock.advance(61)
        after = _with_assertion(client, portal, new.assertion(portal.client_id, clock.now()))
    finally:
        server.shutdown()

    assert before.status_code == 200 and after.status_code == 200, after.text


def test_no_database_connection_is_held_while_a_client_jwks_is_fetched(client, clock, provider):
    key = ClientKey()
    portal = add_portal(
        provider,
        auth_method="private_key_jwt",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["openid"],
        jwks_uri="https://portal.example/jwks.json",
    )
    held = []

    class SlowPortal(JwksFetcher):
        """Stands for a portal that takes seconds to answer: notes the connections out meanwhile."""

        def fetch(self, uri):
            held.append(provider.store.engine.pool.checkedout())
            return {"keys": [key.public_jwk]}

    # A store of its own: only this request's connections are counted, and the client is not cached.
    shared = provider.store
    provider.store = Store.open(provider.settings.effective_database_url, clock)
    provider.client_jwks = SlowPortal(
        clock,
        cache_seconds=policy.JWKS_CACHE_SECONDS,
        refetch_at_most_every=policy.JWKS_REFETCH_AT_MOST_EVERY,
        timeout=policy.JWKS_FETCH_TIMEOUT,
        max_bytes=policy.MAX_JWKS_BYTES,
    )
    try:
        response = _with_assertion(client, portal, key.assertion(portal.client_id, clock.now()))
    finally:
        provider.store.close()
        provider.store = shared

    assert response.status_code == 200 and held == [0], response.text
