"""A mock PostID provider for portals' own test suites: no real provider, no network needed.

provider = MockProvider()                       # generates its own ES256 key
provider.register_client("portal", redirect_uris=[...], client_secret="s3cret")
provider.login_as("citizen-lan")                # auto-approve as this test citizen
http = httpx.Client(transport=provider.transport())   # or provider.app (ASGI), provider.serve()
"""

from __future__ import annotations

from .citizens import SAMPLE_CITIZENS, SCOPE_CLAIMS, Citizen
from .provider import MockProvider, MockRequest, MockResponse, RegisteredClient

__all__ = [
    "SAMPLE_CITIZENS",
    "SCOPE_CLAIMS",
    "Citizen",
    "MockProvider",
    "MockRequest",
    "MockResponse",
    "RegisteredClient",
]
