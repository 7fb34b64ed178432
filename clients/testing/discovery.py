"""Discovery and the JWKS, as the real provider publishes them (idp/http/discovery.py) but pointing
at the mock's endpoints, so a portal discovers the mock exactly as it will discover production."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..defaults import ASSURANCE_LEVELS
from .citizens import SCOPE_CLAIMS
from .dpop_checks import ALGS as DPOP_ALGS
from .messages import MockRequest, MockResponse, endpoint_url
from .policy import AUTH_METHODS, SCOPES

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["all_claims", "discovery", "jwks"]


def discovery(provider: MockProvider, request: MockRequest) -> MockResponse:
    """The real provider's metadata (idp/http/discovery.py), pointing at the mock's endpoints."""

    def url(path: str) -> str:
        return endpoint_url(provider.issuer, path)

    methods = list(AUTH_METHODS)
    document = {
        "issuer": provider.issuer,
        "authorization_endpoint": url("/authorize"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks"),
        "revocation_endpoint": url("/revoke"),
        "introspection_endpoint": url("/introspect"),
        "end_session_endpoint": url("/logout"),
        "pushed_authorization_request_endpoint": url("/par"),
        "require_pushed_authorization_requests": False,
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "PS256", "EdDSA", "RS256"],
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": [m for m in methods if m != "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": all_claims(),
        "acr_values_supported": list(ASSURANCE_LEVELS),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["vi", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
    return MockResponse.json(document, headers={"cache-control": f"public, max-age={provider.jwks_max_age}"})


def jwks(provider: MockProvider, request: MockRequest) -> MockResponse:
    return MockResponse.json(
        provider.jwks,
        headers={
            "cache-control": f"public, max-age={provider.jwks_max_age}",
            "content-type": "application/jwk-set+json",
        },
    )


def all_claims() -> list[str]:
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash"]
    for claims in SCOPE_CLAIMS.values():
        names.extend(claims)
    return names
