"""The FAPI 2.0 Security Profile (final) as a per-client profile: what changes for a client
registered with `profile=fapi2`.

Most of the profile is the provider's behaviour for everyone (PKCE S256, `iss` in the response,
single-use PAR request URIs, DPoP nonces). The rest is per client, because portals registered
before it sign assertions with RS256, send `aud` = the token endpoint and rely on refresh-token
rotation: `client_spec.validate` fixes the registration (PAR, DPoP, `private_key_jwt`, an ID
token algorithm of §5.4.1), and the functions here are the run-time differences, each named for
the clause it applies. Mutual TLS (the profile's other sender-constraining and client authentication
method) is not offered: DPoP and `private_key_jwt` are.
"""

from __future__ import annotations

from idp.core.policy import (
    FAPI_ACCESS_TOKEN_MAX_TTL,
    FAPI_CODE_MAX_TTL,
    FAPI_FUTURE_ACCEPTED,
    FAPI_FUTURE_REFUSED_PAST,
)
from idp.crypto.assertions import FAPI_ALGS
from idp.settings import Settings
from idp.store.records import ClientRecord

__all__ = [
    "FAPI2",
    "FAPI_ALGS",
    "PROFILES",
    "STANDARD",
    "access_token_ttl",
    "applies",
    "code_ttl",
    "future_allowance",
]

STANDARD = "standard"
FAPI2 = "fapi2"
PROFILES = (STANDARD, FAPI2)


def applies(client: ClientRecord | None) -> bool:
    return client is not None and client.profile == FAPI2


def future_allowance(client: ClientRecord | None, leeway: int) -> int:
    """How far ahead `iat`/`nbf` of a JWT the client sent may be: the clock leeway, and for a FAPI
    client that leeway held between the 10 s §5.3.2.1-13 says to accept and the 60 s it says to refuse."""
    if not applies(client):
        return leeway
    return min(max(leeway, FAPI_FUTURE_ACCEPTED), FAPI_FUTURE_REFUSED_PAST)


def code_ttl(client: ClientRecord, settings: Settings) -> int:
    """§5.3.2.1-11: an authorization code lives at most 60 s."""
    return min(settings.code_ttl, FAPI_CODE_MAX_TTL) if applies(client) else settings.code_ttl


def access_token_ttl(client: ClientRecord, settings: Settings) -> int:
    """Access tokens of a FAPI client live at most 10 minutes."""
    ttl = settings.access_token_ttl
    return min(ttl, FAPI_ACCESS_TOKEN_MAX_TTL) if applies(client) else ttl
