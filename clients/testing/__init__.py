"""A mock PostID provider for portals' own test suites: no real provider, no network needed.

provider = MockProvider()                       # generates its own ES256 key
provider.register_client("portal", redirect_uris=[...], client_secret="s3cret")
provider.login_as("citizen-lan")                # auto-approve as this test citizen
provider.login_as("citizen-lan", method="passkey")   # ... logging in with a passkey (amr hwk user mfa)
http = httpx.Client(transport=provider.transport())   # or provider.app (ASGI), provider.serve()

`python -m postid_client.testing --port 9000` runs it as a server for portals in other languages.
"""

from __future__ import annotations

from .citizens import (
    DEFAULT_CLIENT_SCOPES,
    LOGIN_METHODS,
    SAMPLE_CITIZENS,
    SCOPE_CLAIMS,
    SUPPORTED_SCOPES,
    Citizen,
    LoginMethod,
)
from .keys import KeyRotation
from .provider import Delivery, MockProvider, MockRequest, MockResponse, MockTransport, RegisteredClient

__all__ = [
    "DEFAULT_CLIENT_SCOPES",
    "LOGIN_METHODS",
    "SAMPLE_CITIZENS",
    "SCOPE_CLAIMS",
    "SUPPORTED_SCOPES",
    "Citizen",
    "Delivery",
    "KeyRotation",
    "LoginMethod",
    "MockProvider",
    "MockRequest",
    "MockResponse",
    "MockTransport",
    "RegisteredClient",
]
