"""Who is at the other end of a request, as far as rate limits are concerned."""

from __future__ import annotations

from starlette.requests import Request


def client_ip(request: Request) -> str:
    """The peer address; rate limits count per address. Behind a proxy named in IDP_TRUSTED_PROXIES
    the server has already put the forwarded address here; behind any other it is the proxy's."""
    return request.client.host if request.client else "unknown"
