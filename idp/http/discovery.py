"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS.

Both are built once at start-up and served as bytes with cache headers.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from idp.core.provider import Provider
from idp.core.scopes import ACR_VALUES, SUPPORTED_SCOPES, all_claims
from idp.core.clients import AUTH_METHODS, ID_TOKEN_ALGS


def metadata(provider: Provider) -> dict[str, object]:
    issuer = provider.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "revocation_endpoint": f"{issuer}/revoke",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": all_claims(),
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["vi", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
    }


class Published:
    """The precomputed documents; rebuilt when keys change."""

    def __init__(self, provider: Provider) -> None:
        self.configuration = json.dumps(metadata(provider), separators=(",", ":")).encode()
        self.jwks = provider.keys.jwks_bytes
        self.cache_control = f"public, max-age={provider.settings.jwks_max_age}"


async def configuration(request: Request) -> Response:
    published: Published = request.app.state.published
    return Response(published.configuration, media_type="application/json",
                    headers={"Cache-Control": published.cache_control, "Access-Control-Allow-Origin": "*"})


async def jwks(request: Request) -> Response:
    published: Published = request.app.state.published
    return Response(published.jwks, media_type="application/jwk-set+json",
                    headers={"Cache-Control": published.cache_control, "Access-Control-Allow-Origin": "*"})
