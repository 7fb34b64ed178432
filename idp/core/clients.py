"""Portal clients: registering one, and proving a request comes from it.

Client secrets are 256-bit random values shown once and kept as SHA-256 digests; an argon2
check here would cap the token endpoint at a few dozen requests a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idp.core.levels import LOA1, is_level
from idp.core.policy import ASSERTION_MAX_LIFETIME
from idp.core.provider import Provider
from idp.core.scopes import DEFAULT_CLIENT_SCOPES, SUPPORTED_SCOPES
from idp.crypto.assertions import assertion_kid, verify_client_assertion
from idp.crypto.jwts import BadToken
from idp.crypto.keys import SIGNING_ALGS
from idp.crypto.opaque import digest, matches, new_token
from idp.errors import InvalidClient, InvalidRequest, ValidationError
from idp.settings import is_loopback_host
from idp.store.records import ClientRecord

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
_API_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{1,63}$")


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


def check_redirect_uri(uri: str, field: str = "redirect_uri") -> str:
    """Absolute, no fragment, https, or http only on loopback (RFC 8252 §7.3, RFC 9700 §2.1)."""
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri or not parts.hostname:
        raise ValidationError(field, "redirect_uri")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return uri
    raise ValidationError(field, "redirect_uri")


def register_client(
    provider: Provider,
    *,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    auth_method: str = "client_secret_basic",
    scopes: list[str] | None = None,
    id_token_alg: str = "ES256",
    client_id: str | None = None,
    subject_type: str = "pairwise",
    sector_id: str | None = None,
    grant_types: list[str] | None = None,
    jwks: dict[str, object] | None = None,
    jwks_uri: str | None = None,
    backchannel_logout_uri: str | None = None,
    require_par: bool = False,
    require_dpop: bool = False,
    min_level: str = LOA1,
) -> NewClient:
    if not name.strip():
        raise ValidationError("name", "required")
    if not redirect_uris and grant_types != ["client_credentials"]:
        raise ValidationError("redirect_uri", "required")
    if auth_method not in AUTH_METHODS:
        raise ValidationError("auth_method", "choice")
    if id_token_alg not in SIGNING_ALGS:
        raise ValidationError("id_token_alg", "choice")
    chosen = scopes or list(DEFAULT_CLIENT_SCOPES)
    # Scopes outside the OIDC ones name APIs a portal back-end may call with client_credentials.
    if any(s not in SUPPORTED_SCOPES and not _API_SCOPE.match(s) for s in chosen):
        raise ValidationError("scope", "choice")
    if not is_level(min_level):
        raise ValidationError("min_level", "choice")
    if subject_type not in ("pairwise", "public"):
        raise ValidationError("subject_type", "choice")
    grants = grant_types or (["client_credentials"] if not redirect_uris else ["authorization_code", "refresh_token"])
    if any(g not in GRANT_TYPES for g in grants) or ("client_credentials" in grants and auth_method == "none"):
        raise ValidationError("grant_types", "choice")
    if auth_method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ValidationError("jwks", "required")
    if "authorization_code" in grants and "openid" not in chosen:
        raise ValidationError("scope", "choice")
    uris = [check_redirect_uri(u) for u in redirect_uris]
    logout_uris = [check_redirect_uri(u, "post_logout_redirect_uri") for u in post_logout_redirect_uris or []]
    secret = None if auth_method in ("none", "private_key_jwt") else new_token(provider.rng, 32)
    client = provider.store.clients.add(
        id=client_id or new_token(provider.rng, 16),
        name=name.strip(),
        secret_digest=digest(secret) if secret else None,
        auth_method=auth_method,
        redirect_uris=uris,
        post_logout_redirect_uris=logout_uris,
        scopes=chosen,
        id_token_alg=id_token_alg,
        created_at=provider.clock.now(),
        subject_type=subject_type,
        sector_id=sector_id,
        grant_types=grants,
        jwks=jwks,
        jwks_uri=check_redirect_uri(jwks_uri, "jwks_uri") if jwks_uri else None,
        backchannel_logout_uri=check_redirect_uri(backchannel_logout_uri, "backchannel_logout_uri")
        if backchannel_logout_uri
        else None,
        require_par=require_par,
        require_dpop=require_dpop,
        min_level=min_level,
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
    client = provider.store.clients.get(credentials.client_id)
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
    or the token endpoint, `exp` at most 5 minutes ahead, and a `jti` never seen before."""
    now = provider.clock.now()
    try:
        jwks = _client_keys(provider, client, assertion_kid(assertion))
        claims = verify_client_assertion(
            assertion,
            jwks,
            client_id=client.id,
            audiences={provider.issuer, provider.issuer + "/token"},
            now=now,
            leeway=provider.settings.clock_leeway,
            max_lifetime=ASSERTION_MAX_LIFETIME,
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
