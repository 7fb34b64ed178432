"""The one reader of JSON request bodies: the right media type, within the size limit, and no
deeper than `idp.core.policy.MAX_JSON_DEPTH`.

Python's parser recurses once per `[` or `{`: thirty thousand of them in a 64 KiB body end in a
RecursionError (a 500) before any route could look at the value. The nesting is counted first,
without recursion, so such a body is an ordinary 400 `invalid_request`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from idp.core.policy import MAX_JSON_DEPTH
from idp.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

__all__ = ["json_depth", "parse_json", "read_json"]

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes, stop_past: int = MAX_JSON_DEPTH) -> int:
    """How deeply arrays and objects nest in `raw` (brackets inside strings do not count); stops
    counting once past `stop_past`."""
    deepest = level = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        level += 1 if bracket.group() in (b"[", b"{") else -1
        if level > deepest:
            deepest = level
            if deepest > stop_past:
                break
    return deepest


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python's extension, not RFC 8259


def parse_json(raw: bytes) -> Any:
    """The value in `raw`, or InvalidRequest for anything that is not plain, shallow JSON."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("the body is not valid JSON") from None


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, read in chunks and refused (413) as soon as it passes `max_bytes`. The
    `BodyLimit` middleware has usually refused it already; this holds for any app it wraps."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise PayloadTooLarge("the request body is too large")
    return bytes(body)


async def read_json(request: Request, max_bytes: int, *, media_type_required: bool = True) -> Any:
    """A JSON body. `media_type_required=False` (the admin API) accepts any Content-Type and an
    empty body, which reads as {}."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type_required and media_type != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    raw = await read_body(request, max_bytes)
    if not raw and not media_type_required:
        return {}
    return parse_json(raw)
