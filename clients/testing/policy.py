"""The real provider's defaults (idp/settings.py, idp/core/policy.py), in one place so the mock's
codes, tokens and refresh grants expire exactly when production's would: a portal that handles
expiry against the mock handles it in production.
"""

from __future__ import annotations

from .citizens import SUPPORTED_SCOPES

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "AUTH_METHODS",
    "CODE_LIFETIME",
    "GRANT_LIFETIME",
    "ID_TOKEN_LIFETIME",
    "JWKS_MAX_AGE",
    "LEEWAY",
    "LOGOUT_TOKEN_LIFETIME",
    "PAR_LIFETIME",
    "PAR_URN",
    "REFRESH_GRACE",
    "SCOPES",
]

CODE_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 300
ID_TOKEN_LIFETIME = 300
LOGOUT_TOKEN_LIFETIME = 120
PAR_LIFETIME = 60
GRANT_LIFETIME = 30 * 24 * 3600
JWKS_MAX_AGE = 300
LEEWAY = 60
REFRESH_GRACE = 10  # a client that lost a refresh response may retry once with the previous token
SCOPES = SUPPORTED_SCOPES
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
PAR_URN = "urn:ietf:params:oauth:request_uri:"
