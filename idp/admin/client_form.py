"""A client specification from a console form or an admin API body.

Only the fields named here are read, so a form or JSON body can never set a setting it was not
meant to (mass assignment): the subject type, sector, PAR and DPoP requirements and the client id
are for the CLI alone; the profile (`fapi2` switches PAR and DPoP on) is read here. The console
joins a field's repeated values with newlines before this reads them; the API may send a list or
one whitespace-separated string, and the JWKS as an object or as JSON text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.core.client_spec import ClientSpec, parse_jwks
from idp.core.fapi import STANDARD
from idp.core.levels import LOA1

__all__ = ["client_spec"]

# What a console-registered portal may ask for unless the operator names its scopes.
_DEFAULT_SCOPES = ("openid", "profile")


def client_spec(data: Mapping[str, Any]) -> ClientSpec:
    def text(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) else ""

    def many(name: str) -> tuple[str, ...]:
        value = data.get(name)
        if isinstance(value, list):
            return tuple(str(v).strip() for v in value if str(v).strip())
        return tuple(text(name).split())

    raw_jwks = data.get("jwks")
    jwks = raw_jwks if isinstance(raw_jwks, dict) else parse_jwks(text("jwks")) if text("jwks") else None
    return ClientSpec(
        name=text("name"),
        redirect_uris=many("redirect_uris"),
        post_logout_redirect_uris=many("post_logout_redirect_uris"),
        backchannel_logout_uri=text("backchannel_logout_uri") or None,
        auth_method=text("auth_method") or "client_secret_basic",
        scopes=many("scopes") or _DEFAULT_SCOPES,
        grant_types=many("grant_types"),
        min_level=text("min_level") or LOA1,
        id_token_alg=text("id_token_alg") or "ES256",
        jwks=jwks,
        jwks_uri=text("jwks_uri") or None,
        profile=text("profile") or STANDARD,
    )
