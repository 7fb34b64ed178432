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
    "DPOP_ALGORITHMS",
    "FAPI2_ALGORITHMS",
    "HTTP_TIMEOUT",
    "JWKS_DEFAULT_MAX_AGE",
    "JWKS_MAX_AGE_BOUNDS",
    "JWKS_REFETCH_COOLDOWN",
    "LEEWAY",
    "LOGIN_LIFETIME",
    "LOGOUT_TOKEN_MAX_AGE",
    "REFRESH_MARGIN",
]

ALLOWED_SIGNING_ALGORITHMS: Final = ("ES256", "RS256", "PS256", "EdDSA")
"""Asymmetric algorithms only: `none` and HS* would let a public key or nothing forge a token.
EdDSA means Ed25519 (RFC 8037)."""

FAPI2_ALGORITHMS: Final = ("PS256", "ES256", "EdDSA")
"""FAPI 2.0 Security Profile §5.4.1: what a `profile="fapi2"` client signs with (client assertions,
DPoP proofs) and accepts (ID tokens, logout tokens). RS256 (PKCS#1 v1.5) is out."""

DPOP_ALGORITHMS: Final = FAPI2_ALGORITHMS
"""What a DPoP proof is signed with, for every portal: PostID refuses RS256 proofs from anyone
(RFC 9449 §4.3 leaves the choice to the server), so an RSA DPoP key signs PS256."""

ASSURANCE_LEVELS: Final = ("LoA1", "LoA2")
"""Levels of assurance, lowest first; a token may exceed the level asked for, never fall short."""

LEEWAY: Final = 60
"""Seconds of clock skew tolerated on `exp`, `iat`, `auth_time` (the OIDF FAPI 2 tests use 60)."""

JWKS_DEFAULT_MAX_AGE: Final = 300
"""Seconds a fetched JWKS is trusted when its response carries no `Cache-Control: max-age`; matches
the provider's promise to keep retired keys published 300 s."""

JWKS_MAX_AGE_BOUNDS: Final = (5.0, 3600.0)
"""The JWKS is kept for the provider's `max-age`, clamped to these seconds: at least 5 so a
`no-store` provider doesn't cost a fetch per token, at most an hour so a mistaken `max-age` of a
week can't pin a retired key set. PostID publishes a key for its max-age before signing with it,
so following max-age alone picks up every rotation."""

JWKS_REFETCH_COOLDOWN: Final = 10.0
"""On an unknown `kid` in a token anyone can send (a back-channel logout token), at most one extra
JWKS fetch per this many seconds, so junk tokens can't turn the SDK into a load generator against
the provider. An ID token fresh from the token endpoint always gets its one refetch: it came over
the authenticated back channel, so a login is never refused that a fresh fetch would pass."""

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

REFRESH_MARGIN: Final = 60
"""Seconds before an access token's expiry that `PostIDAuth.access_token` refreshes it: a token
handed to an API call must not expire on its way there (the provider's leeway is 60 s too)."""

LOGOUT_TOKEN_MAX_AGE: Final = 120
"""A back-channel logout token's `iat` may be at most this old (plus leeway): the provider sends it
as soon as the session ends."""
