"""An access line is written by the JSON formatter's own path for it: the same object, key for
key and value for value, as the generic path writes for the same fields."""

from __future__ import annotations

import json
import logging

import pytest

from idp.context import REQUEST_ID
from idp.observability import JsonFormatter, Observability, access_log, direct_access_handler

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


# ---- the direct path: the line queued on the handler without a LogRecord ---------------------


@pytest.fixture
def logging_as_served():
    """The served process's logging set-up for the test's length; the suite's own restored after."""
    import logging.config

    from idp.observability import log_config

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, access_log.handlers[:], access_log.filters[:], access_log.propagate)
    logging.config.dictConfig(log_config("json"))
    served = root.handlers[:]
    try:
        yield served[0]
    finally:
        for handler in served:
            handler.close()
        root.handlers[:], root.level = saved[0], saved[1]
        access_log.handlers[:], access_log.filters[:], access_log.propagate = saved[2], saved[3], saved[4]


def test_the_served_set_up_takes_the_direct_path_and_writes_the_generic_line(logging_as_served):
    """The middleware's own access line (`Observability._access_line`) on the served set-up reads
    as the logging path's line for the same request."""
    import io
    import time

    handler = logging_as_served
    logging.getLogger().handlers[:] = [handler]  # as served: without pytest's own capture
    assert direct_access_handler() is handler
    handler.setStream(io.StringIO())
    scope = {"method": "POST", "path": '/token/"ý"', "client": ("127.0.0.1", 50000)}
    token = REQUEST_ID.set("req-0001-abcdef")
    try:
        before = time.time()
        Observability._access_line(scope, 401, 0.000271)
        generic = _record(("POST", '/token/"ý"', 401, 0.27, "127.0.0.1"), access=False)
        expected = json.loads(JsonFormatter().format(generic))
    finally:
        REQUEST_ID.reset(token)
    handler.flush()
    written = json.loads(handler.stream.getvalue())

    assert before - 0.001 <= written.pop("ts") <= time.time() + 0.001
    expected.pop("ts")
    assert written == expected


@pytest.mark.parametrize("change", ["second handler", "filter", "text lines"])
def test_any_other_set_up_keeps_the_logging_path(logging_as_served, change):
    """A test's capture, another handler or a filter must see every access record."""
    logging.getLogger().handlers[:] = [logging_as_served]
    if change == "second handler":
        logging.getLogger().addHandler(logging.NullHandler())
    elif change == "filter":
        access_log.addFilter(lambda record: True)
    else:
        logging_as_served.setFormatter(logging.Formatter("%(message)s"))

    assert direct_access_handler() is None
