"""Request bodies within limits for every route, enforced while the body streams in.

A parser that buffers the body first (`request.body()`, `request.json()`, a form) has already
paid for it by the time it checks the size: a 150 MB upload grows the process by 150 MB before
the refusal. So the limit is applied here, ahead of every route and parser: a `Content-Length`
over the limit is refused before a byte is read, and a body without one (chunked) is cut off as
soon as it passes the limit, without reading the rest.

A route that needs a tighter limit than `IDP_MAX_BODY_BYTES` names it in
`idp.core.policy.BODY_LIMITS`; nothing else decides a body's size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.core.policy import BODY_LIMITS
from idp.http.render import PAGE_PREFIXES

__all__ = ["BodyLimit", "BodyTooLarge"]

_MAX_LENGTH_DIGITS = 19  # a Content-Length longer than this is no length at all
_LENGTH_FRAMED = frozenset({"1.0", "1.1"})  # a request without Content-Length or Transfer-Encoding has no body


class BodyTooLarge(HTTPException):
    """The body passed its limit while a route read it. An HTTPException, so the routes' error
    handlers answer it in their surface's shape (page or JSON) before anything else sees it."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is too large")


def limit_for(path: str, default: int, limits: Mapping[str, int] = BODY_LIMITS) -> int:
    """The tightest limit among the default and every prefix of `path` named in `limits`."""
    return min([default, *(size for prefix, size in limits.items() if path.startswith(prefix))])


class BodyLimit:
    """Refuses an over-long body with 413: at once from its declared length, or as soon as the
    bytes received pass the limit. The connection is closed after such a refusal, so the rest
    of the body is never read."""

    def __init__(self, app: ASGIApp, max_bytes: int, limits: Mapping[str, int] = BODY_LIMITS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = limit_for(path, self.max_bytes, self.limits)
        declared, chunked = _framing(scope)
        if declared == -1:
            await _refuse(path, send, 400, "the Content-Length header is malformed")
            return
        if declared is not None and declared > limit:
            await _refuse(path, send, 413, "the request body is too large")
            return
        if not chunked and (declared is not None or scope.get("http_version") in _LENGTH_FRAMED):
            # The server reads no more than the Content-Length checked above (HTTP/1.x framing;
            # HTTP/2 servers refuse DATA beyond it, RFC 9113 §8.1.1), and an HTTP/1.x request with
            # neither header has no body: there is nothing to count (most requests; the counting
            # wrappers cost ~15 k instructions a request).
            await self.app(scope, receive, send)
            return
        received = 0
        unread = declared is None and chunked
        started = False

        async def limited_receive() -> Message:
            nonlocal received, unread
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                unread = unread and message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if received > limit or unread:
                    # Answered before the end of a chunked body (a refusal, a 401): close rather
                    # than read the rest to reach the next request on this connection.
                    message.setdefault("headers", []).append((b"connection", b"close"))
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(path, send, 413, "the request body is too large")


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The Content-Length as a number (None when absent; -1 when it is not ASCII digits, or given
    twice), and whether a Transfer-Encoding was sent, in one pass over the headers."""
    values: list[bytes] = []
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            values.append(value)
        elif name == b"transfer-encoding":
            chunked = True
    if not values:
        return None, chunked
    raw = values[0].strip()
    if len(values) > 1 or not raw or len(raw) > _MAX_LENGTH_DIGITS or not raw.isdigit():
        return -1, chunked  # bytes.isdigit() is ASCII-only: no "²" gets through
    return int(raw), chunked


async def _refuse(path: str, send: Send, status: int, description: str) -> None:
    if path.startswith(PAGE_PREFIXES):
        body = (
            '<!doctype html><html lang="vi"><meta charset="utf-8"><title>PostID</title>'
            f"<h1>{status}</h1><p>Yêu cầu không hợp lệ: nội dung gửi lên quá lớn hoặc sai định dạng.</p>"
            f"<p>Bad request: {description}.</p></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
        content_type = b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
