"""Client authentication at `/par`, `/token`, `/introspect` and `/revoke`, as strict as the real
provider: exactly the registered method, secrets compared in constant time, `private_key_jwt`
assertions verified against the portal's JWKS, short-lived and used once. A portal whose client
authentication is wrong should fail here, not in production."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

import jwt

from .messages import MockRequest, OAuthFailure, endpoint_url
from .policy import LEEWAY
from .records import RegisteredClient

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["CLIENT_AUTH_FIELDS", "authenticate_client"]

CLIENT_AUTH_FIELDS = ("client_secret", "client_assertion", "client_assertion_type")
"""Form fields that authenticate the client and so are never part of a pushed request."""

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def authenticate_client(provider: MockProvider, request: MockRequest) -> RegisteredClient:
    form = request.form
    authorization = request.headers.get("authorization", "")
    client_id: str | None = None
    secret: str | None = None
    method = "none"
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode("ascii")
            raw_id, raw_secret = decoded.split(":", 1)
        except (ValueError, UnicodeDecodeError):
            raise OAuthFailure("invalid_client", "malformed Basic credentials", 401) from None
        client_id, secret, method = unquote_plus(raw_id), unquote_plus(raw_secret), "client_secret_basic"
    elif "client_assertion" in form:
        method = "private_key_jwt"
        client_id = form.get("client_id")
        if client_id is None:
            try:
                client_id = str(jwt.decode(form["client_assertion"], options={"verify_signature": False})["iss"])
            except (jwt.PyJWTError, KeyError):
                raise OAuthFailure("invalid_client", "client assertion rejected", 401) from None
    elif "client_secret" in form:
        client_id, secret, method = form.get("client_id"), form["client_secret"], "client_secret_post"
    else:
        client_id = form.get("client_id")
    client = provider.clients.get(client_id or "")
    if client is None or client.auth_method != method:
        raise OAuthFailure("invalid_client", "client authentication failed", 401)
    if method in ("client_secret_basic", "client_secret_post"):
        if not hmac.compare_digest((secret or "").encode(), (client.client_secret or "").encode()):
            raise OAuthFailure("invalid_client", "client authentication failed", 401)
    if method == "private_key_jwt":
        _check_assertion(provider, form, client)
    return client


def _check_assertion(provider: MockProvider, form: Mapping[str, str], client: RegisteredClient) -> None:
    if form.get("client_assertion_type") != _ASSERTION_TYPE or not client.jwks:
        raise OAuthFailure("invalid_client", "client assertion type", 401)
    assertion = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        jwk = next(k for k in client.jwks["keys"] if header.get("kid") in (None, k.get("kid")))
        key = jwt.PyJWK(dict(jwk))
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=[str(jwk.get("alg", header.get("alg")))],
            audience=[
                provider.issuer,
                endpoint_url(provider.issuer, "/token"),
                endpoint_url(provider.issuer, "/par"),
            ],
            issuer=client.client_id,
            options={"require": ["exp", "jti", "iat"], "verify_exp": False, "verify_iat": False},
        )
    except (jwt.PyJWTError, StopIteration, KeyError) as exc:
        raise OAuthFailure("invalid_client", f"client assertion rejected: {exc}", 401) from None
    now = provider.clock()
    if claims.get("sub") != client.client_id or claims["exp"] - claims["iat"] > 300 or claims["exp"] < now - LEEWAY:
        raise OAuthFailure("invalid_client", "client assertion sub or lifetime", 401)
    used = provider._ledger.used_assertions
    if claims["jti"] in used:
        raise OAuthFailure("invalid_client", "client assertion replayed", 401)
    used.add(claims["jti"])
