"""What a portal client is, and the one set of rules every way of registering or editing one obeys.

The CLI, the staff console, the admin JSON API and `register_client` each build a `ClientSpec`
from what they were given and pass it through `validate`: a client one surface refuses, every
surface refuses, naming the same field and rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from idp.core.fapi import FAPI2, FAPI_ALGS, PROFILES, STANDARD
from idp.core.levels import LOA1, is_level
from idp.core.scopes import DEFAULT_CLIENT_SCOPES, SUPPORTED_SCOPES
from idp.crypto.keys import SIGNING_ALGS
from idp.errors import ValidationError
from idp.settings import is_loopback_host, literal_internal_host
from idp.store.records import ClientRecord

__all__ = [
    "AUTH_METHODS",
    "GRANT_TYPES",
    "PROFILES",
    "SUBJECT_TYPES",
    "ClientSpec",
    "check_redirect_uri",
    "parse_jwks",
    "validate",
]

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SUBJECT_TYPES = ("pairwise", "public")
# A scope outside the OIDC ones names an API a portal back-end calls with client_credentials.
_API_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{1,63}$")
# JWK members only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1): registering
# one would hand the provider, and whoever reads its database, the client's signing key.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "k"})


@dataclass(frozen=True)
class ClientSpec:
    """Every setting of a client. Empty `scopes` means the default portal scopes; empty
    `grant_types` means the code flow with refresh tokens."""

    name: str
    redirect_uris: Sequence[str] = ()
    post_logout_redirect_uris: Sequence[str] = ()
    auth_method: str = "client_secret_basic"
    scopes: Sequence[str] = ()
    id_token_alg: str = "ES256"
    client_id: str | None = None
    subject_type: str = "pairwise"
    sector_id: str | None = None
    grant_types: Sequence[str] = ()
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    backchannel_logout_uri: str | None = None
    require_par: bool = False
    require_dpop: bool = False
    min_level: str = LOA1
    profile: str = STANDARD

    @classmethod
    def of(cls, client: ClientRecord) -> ClientSpec:
        """The specification a registered client was saved from, the starting point of an edit."""
        return cls(
            name=client.name,
            redirect_uris=client.redirect_uris,
            post_logout_redirect_uris=client.post_logout_redirect_uris,
            auth_method=client.auth_method,
            scopes=tuple(sorted(client.scopes)),
            id_token_alg=client.id_token_alg,
            client_id=client.id,
            subject_type=client.subject_type,
            sector_id=client.sector_id,
            grant_types=tuple(g for g in GRANT_TYPES if g in client.grant_types),
            jwks=client.jwks,
            jwks_uri=client.jwks_uri,
            backchannel_logout_uri=client.backchannel_logout_uri,
            require_par=client.require_par,
            require_dpop=client.require_dpop,
            min_level=client.min_level,
            profile=client.profile,
        )


def check_redirect_uri(uri: str, field: str = "redirect_uri") -> str:
    """Absolute, no fragment, https, or http only on loopback (RFC 8252 §7.3, RFC 9700 §2.1)."""
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri or not parts.hostname:
        raise ValidationError(field, "redirect_uri")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return uri
    raise ValidationError(field, "redirect_uri")


def parse_jwks(text: str) -> dict[str, Any]:
    """A JWK Set typed or uploaded as JSON text; `validate` then checks what it holds."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested a thousand deep
        raise ValidationError("jwks", "jwks") from None
    if not isinstance(value, dict):
        raise ValidationError("jwks", "jwks")
    return value


def check_outbound_uri(uri: str, field: str, allow_internal: bool) -> str:
    """A URI the provider will call (jwks_uri, backchannel_logout_uri): a redirect URI's rules, and
    unless `allow_internal` (IDP_OUTBOUND_ALLOW_PRIVATE) no literal internal address, refused here
    with a clear error rather than at the first fetch. Names are checked again on every connection."""
    check_redirect_uri(uri, field)
    if not allow_internal and literal_internal_host(urlsplit(uri).hostname):
        raise ValidationError(field, "internal_address")
    return uri


def validate(spec: ClientSpec, *, allow_internal_targets: bool = False) -> ClientSpec:
    """The client as it will be saved (name trimmed, defaults filled in, tuples), or the first
    rule it breaks as `ValidationError(field, code)`. `allow_internal_targets` is the
    IDP_OUTBOUND_ALLOW_PRIVATE setting."""
    if not spec.name.strip():
        raise ValidationError("name", "required")
    if not spec.redirect_uris and tuple(spec.grant_types) != ("client_credentials",):
        raise ValidationError("redirect_uri", "required")
    if spec.auth_method not in AUTH_METHODS:
        raise ValidationError("auth_method", "choice")
    if spec.id_token_alg not in SIGNING_ALGS:
        raise ValidationError("id_token_alg", "choice")
    scopes = tuple(spec.scopes or DEFAULT_CLIENT_SCOPES)
    api_scopes = [s for s in scopes if s not in SUPPORTED_SCOPES]
    if any(not _API_SCOPE.match(s) for s in api_scopes):
        raise ValidationError("scope", "choice")
    if not is_level(spec.min_level):
        raise ValidationError("min_level", "choice")
    if spec.subject_type not in SUBJECT_TYPES:
        raise ValidationError("subject_type", "choice")
    grants = tuple(spec.grant_types or ("authorization_code", "refresh_token"))
    if any(g not in GRANT_TYPES for g in grants) or ("client_credentials" in grants and spec.auth_method == "none"):
        raise ValidationError("grant_types", "choice")
    if api_scopes and "client_credentials" not in grants:
        raise ValidationError("scope", "choice")
    _check_jwks(spec.jwks)
    if spec.auth_method == "private_key_jwt" and not (spec.jwks or spec.jwks_uri):
        raise ValidationError("jwks", "required")
    if "authorization_code" in grants and "openid" not in scopes:
        raise ValidationError("scope", "choice")
    fapi2 = _check_profile(spec)
    return replace(
        spec,
        require_par=spec.require_par or fapi2,
        require_dpop=spec.require_dpop or fapi2,
        name=spec.name.strip(),
        redirect_uris=tuple(check_redirect_uri(u) for u in spec.redirect_uris),
        post_logout_redirect_uris=tuple(
            check_redirect_uri(u, "post_logout_redirect_uri") for u in spec.post_logout_redirect_uris
        ),
        scopes=scopes,
        grant_types=grants,
        jwks=dict(spec.jwks) if spec.jwks else None,
        jwks_uri=check_outbound_uri(spec.jwks_uri, "jwks_uri", allow_internal_targets) if spec.jwks_uri else None,
        backchannel_logout_uri=check_outbound_uri(
            spec.backchannel_logout_uri, "backchannel_logout_uri", allow_internal_targets
        )
        if spec.backchannel_logout_uri
        else None,
    )


def _check_profile(spec: ClientSpec) -> bool:
    """Whether the client is a FAPI 2.0 one, which must push its requests (PAR) and gets only
    sender-constrained tokens (DPoP, since mutual TLS is not offered): both are switched on whatever
    was asked. Its only authentication is `private_key_jwt` and its ID tokens are signed with
    an algorithm of §5.4.1 (of those, this provider's keys sign ES256)."""
    if spec.profile not in PROFILES:
        raise ValidationError("profile", "choice")
    if spec.profile != FAPI2:
        return False
    if spec.auth_method != "private_key_jwt":
        raise ValidationError("auth_method", "fapi2")
    if spec.id_token_alg not in FAPI_ALGS:
        raise ValidationError("id_token_alg", "fapi2")
    return True


def _check_jwks(jwks: Mapping[str, Any] | None) -> None:
    """A JWK Set of public keys only."""
    if jwks is None:
        return
    keys = jwks.get("keys")
    if not isinstance(keys, list) or any(not isinstance(k, dict) or _PRIVATE_MEMBERS & set(k) for k in keys):
        raise ValidationError("jwks", "jwks")
