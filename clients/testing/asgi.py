"""The mock provider as a bare ASGI app: no web framework needed to run it under uvicorn or
httpx's `ASGITransport`. Each request is answered on a worker thread, so an injected delay or a
back-channel logout POSTed to a portal (which may call back for the JWKS) never stalls the loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio.to_thread

from .messages import MockRequest

if TYPE_CHECKING:
    from .provider import MockProvider

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_MAX_BODY = 64 * 1024


def asgi_app(provider: MockProvider) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > _MAX_BODY:
                await send({"type": "http.response.start", "status": 413, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            if not message.get("more_body"):
                break
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        form: dict[str, str] = {}
        if scope["method"] == "POST" and headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        request = MockRequest(scope["method"], scope["path"], query, form, headers, body)
        reply = await anyio.to_thread.run_sync(provider.handle, request)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    return app
