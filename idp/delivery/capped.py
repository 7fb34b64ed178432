"""Reading an answer from another machine with a ceiling: a body larger than the ceiling is refused
as it arrives, never read to its end first (a JWKS or a registry answer is a few KiB; an endless one
would otherwise cost memory and time before the size check)."""

from __future__ import annotations

import httpx


def read_capped(response: httpx.Response, max_bytes: int) -> bytes | None:
    """The body of a streamed `response`, or None once it passes `max_bytes`."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)
