"""The mock as an httpx transport: a portal's SDK client talks to it with no server and no network,
sync or async, through the one seam (`http_client=`) it uses in production."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import httpx

from .messages import MockRequest

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["MockTransport"]


class MockTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Every request answered by the provider, for `httpx.Client` and `httpx.AsyncClient` alike.
    The async side answers from a worker thread, so an injected delay never stalls the event loop."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = self.provider.handle(_from_httpx(request))
        return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio.to_thread

        await request.aread()
        reply = await anyio.to_thread.run_sync(self.provider.handle, _from_httpx(request))
        return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body)


def _from_httpx(request: httpx.Request) -> MockRequest:
    form: dict[str, str] = {}
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
    return MockRequest(
        request.method,
        request.url.path,
        dict(request.url.params),
        form,
        {name.lower(): value for name, value in request.headers.items()},
        request.content,
    )
