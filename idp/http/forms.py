"""Parsing parameters from query strings and form bodies, strictly and within limits.

OAuth treats a parameter sent without a value as omitted (RFC 6749 §3.1) and ignores
unknown parameters; repeated ones are kept so `Params.one` can refuse them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.requests import Request

from idp.core.params import Params
from idp.errors import InvalidRequest, UnsupportedMediaType
from idp.http.json_body import read_body

__all__ = ["MAX_FIELDS", "Params", "parse_params", "read_form"]

_BROKEN_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_FIELDS = 64


def parse_params(raw: str) -> Params:
    if _BROKEN_PERCENT.search(raw):
        raise InvalidRequest("malformed percent-encoding")
    try:
        pairs = parse_qsl(raw, keep_blank_values=False, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("malformed parameters") from None
    params = Params()
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise InvalidRequest("malformed parameters")
        params.add(name, value)
    return params


async def read_form(request: Request, max_bytes: int) -> Params:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("the body must be application/x-www-form-urlencoded")
    body = await read_body(request, max_bytes)  # a declared length was checked by `BodyLimit`
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidRequest("the form body must be percent-encoded ASCII") from None
    return parse_params(text)
