"""An access line is written by the JSON formatter's own path for it: the same object, key for
key and value for value, as the generic path writes for the same fields."""

from __future__ import annotations

import json
import logging

import pytest

from idp.context import REQUEST_ID
from idp.observability import JsonFormatter

FIELDS = ("method", "path", "status", "duration_ms", "client")


def _record(fields: tuple[object, ...], access: bool) -> logging.LogRecord:
    record = logging.LogRecord("idp.access", logging.INFO, __file__, 0, "%s %s %d", fields[:3], None)
    record.__dict__.update({"_access": fields} if access else dict(zip(FIELDS, fields, strict=True)))
    return record


@pytest.mark.parametrize(
    "fields",
    [
        ("POST", "/token", 200, 0.27, "127.0.0.1"),
        ("GET", '/interaction/"quoted"\\back\u2028/ý-Nguyễn', 404, 12.0, None),
        ("GET", "/\x00\x1f\x7f", 400, 1234.56, "::1"),
    ],
)
def test_an_access_line_reads_as_the_generic_line_for_the_same_fields(fields):
    formatter = JsonFormatter()
    token = REQUEST_ID.set('id-"with"-quotes')
    try:
        fast, generic = _record(fields, access=True), _record(fields, access=False)
        fast.created = generic.created = 1796019221.6405

        line = formatter.format(fast)

        assert json.loads(line) == json.loads(formatter.format(generic))
        assert list(json.loads(line)) == list(json.loads(formatter.format(generic)))  # the same key order
        assert "\n" not in line
    finally:
        REQUEST_ID.reset(token)
