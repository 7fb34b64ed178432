"""Portal clients: registering one, and proving a request comes from it.

Client secrets are 256-bit random values shown once and kept as SHA-256 digests; an argon2
check here would cap the token endpoint at a few dozen requests a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.core import fapi
from idp.core.client_spec import ClientSpec, validate
from idp.core.policy import ASSERTION_MAX_LIFETIME
from idp.core.provider import Provider
from idp.crypto.assertions import ASSERTION_ALGS, assertion_kid, verify_client_assertion
from idp.crypto.jwts import BadToken
from idp.crypto.opaque import digest, matches, new_token
from idp.errors import InvalidClient, InvalidRequest
from idp.store.records import ClientRecord

# What a client assertion may be signed with (a FAPI 2.0 client's: `fapi.FAPI_ALGS`); discovery names them.
ASSERTION_SIGNING_ALGS = ASSERTION_ALGS


@dataclass(frozen=True)
class ClientCredentials:
    """What the HTTP layer found on a back-channel request."""

    client_id: str | None
    secret: str | None
    method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    assertion: str | None = None


@dataclass(frozen=True)
class NewClient:
    client: ClientRecord
    secret: str | None  # shown once


def register_client(provider: Provider, spec: ClientSpec) -> NewClient:
    """Saves a client that passes `validate`; a confidential client that authenticates with a
    secret gets one, returned here and never again."""
    spec = validate(spec, allow_internal_targets=provider.settings.outbound_allow_private)
    secret = None if spec.auth_method in ("none", "private_key_jwt") else new_token(provider.rng, 32)
    client = provider.store.clients.add(
        id=spec.client_id or new_token(provider.rng, 16),
        name=spec.name,
        secret_digest=digest(secret) if secret else None,
        auth_method=spec.auth_method,
        redirect_uris=list(spec.redirect_uris),
        post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
        scopes=list(spec.scopes),
        id_token_alg=spec.id_token_alg,
        created_at=provider.clock.now(),
        subject_type=spec.subject_type,
        sector_id=spec.sector_id,
        grant_types=list(spec.grant_types),
        jwks=spec.jwks,
        jwks_uri=spec.jwks_uri,
        backchannel_logout_uri=spec.backchannel_logout_uri,
        require_par=spec.require_par,
        require_dpop=spec.require_dpop,
        min_level=spec.min_level,
        profile=spec.profile,
    )
    return NewClient(client, secret)


def rotate_secret(provider: Provider, client_id: str) -> str:
    """A new secret for a confidential client, shown once; the old one stops working at once."""
    secret = new_token(provider.rng, 32)
    provider.store.clients.set_secret_digest(client_id, digest(secret))
    return secret


def authenticate_client(provider: Provider, credentials: ClientCredentials) -> ClientRecord:
    """The client, if the credentials prove it, by the one method it registered (RFC 6749 §2.3)."""
    if not credentials.client_id:
        raise InvalidClient("client authentication is required")
    return _prove(provider, provider.store.clients.get(credentials.client_id), credentials)


def authenticate_cached_client(provider: Provider, credentials: ClientCredentials) -> ClientRecord | None:
    """`authenticate_client` without the database, or None when that cannot be done: the client
    is not in this process's fresh cache, or it proves itself by an assertion (whose `jti` is
    recorded in the database). A client found here is refused or proven exactly as there."""
    if not credentials.client_id or credentials.method not in _SECRET_METHODS:
        return None
    client = provider.store.clients.cached(credentials.client_id)
    return None if client is None else _prove(provider, client, credentials)


_SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


def _prove(provider: Provider, client: ClientRecord | None, credentials: ClientCredentials) -> ClientRecord:
    if client is None or client.disabled:
        raise InvalidClient("client authentication failed", detail=f"unknown or disabled {credentials.client_id!r}")
    if credentials.method != client.auth_method:
        raise InvalidClient(
            "client authentication failed", detail=f"used {credentials.method}, registered {client.auth_method}"
        )
    if client.auth_method == "private_key_jwt":
        check_client_assertion(provider, client, credentials.assertion or "")
    elif client.auth_method != "none":
        if not credentials.secret or not client.secret_digest or not matches(credentials.secret, client.secret_digest):
            raise InvalidClient("client authentication failed", detail="wrong secret")
    return client


def check_client_assertion(provider: Provider, client: ClientRecord, assertion: str) -> None:
    """RFC 7523 §3: signed by a key the client registered, `iss` = `sub` = client, `aud` the issuer
    or the token endpoint, `exp` at most 5 minutes ahead, and a `jti` never seen before.

    A FAPI 2.0 client's assertion is stricter: `aud` is the issuer as a single string, never the
    endpoint URL nor an array (§5.3.2.1-8: an array or another audience lets an assertion meant
    for one server be replayed at another), `iat`/`nbf` at most 60 s ahead (§5.3.2.1-13), and
    PS256, ES256 or EdDSA only (§5.4.1)."""
    now = provider.clock.now()
    leeway = provider.settings.clock_leeway
    strict = fapi.applies(client)
    try:
        jwks = _client_keys(provider, client, assertion_kid(assertion))
        claims = verify_client_assertion(
            assertion,
            jwks,
            client_id=client.id,
            audiences={provider.issuer} if strict else {provider.issuer, provider.issuer + "/token"},
            now=now,
            leeway=leeway,
            max_lifetime=ASSERTION_MAX_LIFETIME,
            algorithms=fapi.FAPI_ALGS if strict else ASSERTION_ALGS,
            audience_string_only=strict,
            ahead=fapi.future_allowance(client, leeway),
        )
    except BadToken as exc:
        raise InvalidClient("client authentication failed", detail=f"assertion: {exc}") from None
    if not provider.store.used_jtis.use(
        f"assertion:{client.id}:{claims['jti']}", int(claims["exp"]) + provider.settings.clock_leeway
    ):
        raise InvalidClient("client authentication failed", detail="assertion jti replayed")


def _client_keys(provider: Provider, client: ClientRecord, kid: str | None) -> dict[str, Any]:
    """Registered inline, or fetched from the client's `jwks_uri` (through `provider.client_jwks`,
    which caches them)."""
    if client.jwks is not None:
        return client.jwks
    if not client.jwks_uri:
        raise BadToken("the client registered no keys")
    return provider.client_jwks.keys(client.jwks_uri, kid)


def require_known_client(provider: Provider, client_id: str | None) -> ClientRecord:
    if not client_id:
        raise InvalidRequest("client_id is required")
    client = provider.store.clients.get(client_id)
    if client is None or client.disabled:
        raise InvalidRequest("unknown client_id", detail=f"client {client_id!r}")
    return client
