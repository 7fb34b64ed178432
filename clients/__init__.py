"""PostID relying-party SDK: log citizens in to a portal with the PostID OpenID Connect provider.

Start with `PostIDClient` (or `AsyncPostIDClient`); `postid_client.starlette_auth` mounts login,
callback, logout and back-channel logout into a Starlette app; `postid_client.testing` is a mock
provider for a portal's own tests.
"""

from __future__ import annotations

from .amr import PASSKEY_METHODS, AmrRequirement, amr_satisfies
from .async_client import AsyncPostIDClient
from .authorization import LoginRequest
from .citizen_id import CitizenId
from .client import PostIDClient
from .client_auth import ClientAuth, ClientSecretBasic, ClientSecretPost, NoClientAuth, PrivateKeyJwt
from .clock import Clock, system_clock
from .defaults import ASSURANCE_LEVELS
from .dpop import DPoPKey
from .errors import (
    AuthorizationDenied,
    CallbackError,
    ConfigurationError,
    InsufficientAssurance,
    InvalidProviderResponse,
    InvalidSignature,
    IssuerMismatch,
    NonceMismatch,
    OAuthError,
    PostIDError,
    ProviderUnavailable,
    ReplayedToken,
    StateMismatch,
    SubjectMismatch,
    TokenExpired,
    TokenValidationError,
    UnknownSigningKey,
    UnmetAuthenticationMethods,
)
from .id_token import IdTokenClaims
from .levels import meets_level
from .logout_token import InMemoryReplayCache, LogoutToken, ReplayCache
from .metadata import ProviderMetadata
from .tokens import Introspection, TokenSet

__version__ = "0.1.0"

__all__ = [
    "ASSURANCE_LEVELS",
    "PASSKEY_METHODS",
    "AmrRequirement",
    "AsyncPostIDClient",
    "AuthorizationDenied",
    "CallbackError",
    "CitizenId",
    "ClientAuth",
    "ClientSecretBasic",
    "ClientSecretPost",
    "Clock",
    "ConfigurationError",
    "DPoPKey",
    "IdTokenClaims",
    "InMemoryReplayCache",
    "InsufficientAssurance",
    "Introspection",
    "InvalidProviderResponse",
    "InvalidSignature",
    "IssuerMismatch",
    "LoginRequest",
    "LogoutToken",
    "NoClientAuth",
    "NonceMismatch",
    "OAuthError",
    "PostIDClient",
    "PostIDError",
    "PrivateKeyJwt",
    "ProviderMetadata",
    "ProviderUnavailable",
    "ReplayCache",
    "ReplayedToken",
    "StateMismatch",
    "SubjectMismatch",
    "TokenExpired",
    "TokenSet",
    "TokenValidationError",
    "UnknownSigningKey",
    "UnmetAuthenticationMethods",
    "__version__",
    "amr_satisfies",
    "meets_level",
    "system_clock",
]
