"""The provider's discovery document as a typed configuration object (OpenID Connect Discovery 1.0)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidProviderResponse, IssuerMismatch

__all__ = ["ProviderMetadata", "cache_max_age"]

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


def cache_max_age(cache_control: str | None, default: int) -> int:
    """Seconds a response may be reused: `max-age` if given, 0 for `no-store`/`no-cache`,
    otherwise `default`."""
    if not cache_control:
        return default
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else default


def _optional_str(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidProviderResponse(f"discovery field {name} is not a string")
    return value


def _str_list(document: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = document.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidProviderResponse(f"discovery field {name} is not a list of strings")
    return tuple(value)


@dataclass(frozen=True)
class ProviderMetadata:
    """What the SDK uses from discovery; `raw` keeps the whole document for anything else."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    end_session_endpoint: str | None = None
    introspection_endpoint: str | None = None
    pushed_authorization_request_endpoint: str | None = None
    authorization_response_iss_parameter_supported: bool = False
    backchannel_logout_supported: bool = False
    scopes_supported: tuple[str, ...] = ()
    acr_values_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Any, expected_issuer: str) -> ProviderMetadata:
        """Parse a discovery document, refusing it when `issuer` is not exactly the configured
        issuer: otherwise a provider could vouch for another's tokens (Discovery §4.3)."""
        if not isinstance(document, dict):
            raise InvalidProviderResponse("discovery document is not a JSON object")
        issuer = document.get("issuer")
        if issuer != expected_issuer:
            raise IssuerMismatch(f"discovery names issuer {issuer!r}, expected exactly {expected_issuer!r}")
        required = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = _optional_str(document, name)
            if value is None:
                raise InvalidProviderResponse(f"discovery lacks {name}")
            required[name] = value
        return cls(
            issuer=issuer,
            authorization_endpoint=required["authorization_endpoint"],
            token_endpoint=required["token_endpoint"],
            jwks_uri=required["jwks_uri"],
            userinfo_endpoint=_optional_str(document, "userinfo_endpoint"),
            revocation_endpoint=_optional_str(document, "revocation_endpoint"),
            end_session_endpoint=_optional_str(document, "end_session_endpoint"),
            introspection_endpoint=_optional_str(document, "introspection_endpoint"),
            pushed_authorization_request_endpoint=_optional_str(document, "pushed_authorization_request_endpoint"),
            authorization_response_iss_parameter_supported=document.get(
                "authorization_response_iss_parameter_supported"
            )
            is True,
            backchannel_logout_supported=document.get("backchannel_logout_supported") is True,
            scopes_supported=_str_list(document, "scopes_supported"),
            acr_values_supported=_str_list(document, "acr_values_supported"),
            code_challenge_methods_supported=_str_list(document, "code_challenge_methods_supported"),
            token_endpoint_auth_methods_supported=_str_list(document, "token_endpoint_auth_methods_supported"),
            id_token_signing_alg_values_supported=_str_list(document, "id_token_signing_alg_values_supported"),
            raw=document,
        )
