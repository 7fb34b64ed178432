"""Every default the SDK ships with, in one place, each with the reason for its value.

A setting passed to a client overrides the value here; nothing else in the package hard-codes
a number of seconds.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALLOWED_SIGNING_ALGORITHMS",
    "ASSURANCE_LEVELS",
    "CLIENT_ASSERTION_LIFETIME",
    "DISCOVERY_DEFAULT_MAX_AGE",
    "DISCOVERY_RETRY_AFTER",
    "HTTP_TIMEOUT",
    "JWKS_LIFESPAN",
    "JWKS_REFETCH_INTERVAL",
    "LEEWAY",
    "LOGIN_LIFETIME",
    "LOGOUT_TOKEN_MAX_AGE",
]

ALLOWED_SIGNING_ALGORITHMS: Final = ("ES256", "RS256", "PS256")
"""Asymmetric algorithms only: `none` and HS* would let a public key or nothing forge a token."""

ASSURANCE_LEVELS: Final = ("LoA1", "LoA2")
"""Levels of assurance, lowest first; a token may exceed the level asked for, never fall short."""

LEEWAY: Final = 60
"""Seconds of clock skew tolerated on `exp`, `iat`, `auth_time` (the OIDF FAPI 2 tests use 60)."""

JWKS_LIFESPAN: Final = 300
"""Seconds a fetched JWKS is trusted; matches the provider's promise to keep retired keys 300 s."""

JWKS_REFETCH_INTERVAL: Final = 60
"""At most one extra JWKS fetch per this many seconds on an unknown `kid`, so junk tokens can't
turn the SDK into a load generator against the provider."""

DISCOVERY_DEFAULT_MAX_AGE: Final = 300
"""Seconds discovery is kept when the response carries no `Cache-Control: max-age`."""

DISCOVERY_RETRY_AFTER: Final = 30
"""Seconds between new attempts while stale discovery is served because the provider is down,
so an outage doesn't add a timeout to every login."""

HTTP_TIMEOUT: Final = 10.0
"""Seconds for connect/read/write/pool on every call to the provider."""

CLIENT_ASSERTION_LIFETIME: Final = 60
"""Seconds a `private_key_jwt` assertion lives; RFC 7523 wants it short, the brief caps it at 300."""

LOGIN_LIFETIME: Final = 900
"""Seconds between building the authorization URL and its callback: long enough for an SMS code
and a second factor, short enough that a stolen, stale login transaction is useless."""

LOGOUT_TOKEN_MAX_AGE: Final = 120
"""A back-channel logout token's `iat` may be at most this old (plus leeway): the provider sends it
as soon as the session ends."""
