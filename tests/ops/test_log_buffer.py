"""The log handler batches lines without losing any: on its interval, at once for warnings, and at
close (process exit)."""

from __future__ import annotations

import io
import json
import logging
import time

from idp.observability import BufferedStreamHandler, JsonFormatter


class _AccessLogger:
    """Hands records straight to the handler under test, whatever the suite did to logging's
    global configuration."""

    def __init__(self, handler: logging.Handler) -> None:
        handler.setFormatter(JsonFormatter())
        self.handler = handler

    def _log(self, level: int, msg: str, *args: object, extra: dict | None = None) -> None:
        record = logging.LogRecord("idp.access", level, __file__, 1, msg, args or None, None)
        record.__dict__.update(extra or {})
        self.handler.handle(record)

    def info(self, msg: str, *args: object, extra: dict | None = None) -> None:
        self._log(logging.INFO, msg, *args, extra=extra)

    def warning(self, msg: str, *args: object) -> None:
        self._log(logging.WARNING, msg, *args)


def _logger(handler: logging.Handler) -> _AccessLogger:
    return _AccessLogger(handler)


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_an_info_line_is_held_back_then_written_on_the_interval():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=0.2)
    logger = _logger(handler)

    logger.info("GET /token 200", extra={"status": 200})
    written_at_once = stream.getvalue()

    assert written_at_once == ""
    assert _wait_for(lambda: stream.getvalue() != "")
    assert json.loads(stream.getvalue())["status"] == 200
    handler.close()


def test_lines_of_other_loggers_are_written_at_once():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=60)
    handler.setFormatter(JsonFormatter())
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process", None, None)

    handler.emit(record)

    assert json.loads(stream.getvalue())["msg"] == "Started server process"
    handler.close()


def test_a_warning_is_written_at_once_with_what_came_before_it():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=60)
    logger = _logger(handler)

    logger.info("first")
    logger.warning("second")

    assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == ["first", "second"]
    handler.close()


def test_closing_writes_every_pending_line():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=60)
    logger = _logger(handler)
    for i in range(3):
        logger.info("line %d", i)

    handler.close()

    assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == ["line 0", "line 1", "line 2"]


def test_a_full_buffer_is_written_without_waiting_for_the_interval():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=60, capacity=4)
    logger = _logger(handler)

    for i in range(4):
        logger.info("line %d", i)

    assert len(stream.getvalue().splitlines()) == 4
    handler.close()


def test_a_served_provider_writes_every_access_line_with_its_request_id_by_the_time_it_stops(tmp_path, keys_dir):
    import subprocess

    import httpx

    from tests.helpers import free_port
    from tests.ops.conftest import IDP, idp, served_env, stop, wait_ready

    port = free_port()
    env = served_env(tmp_path, keys_dir, f"http://127.0.0.1:{port}", IDP_LOG_FORMAT="json")
    assert idp(env, "init").returncode == 0
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*IDP, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=out, text=True
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        ids = [f"probe-{i:04d}-abcdef" for i in range(20)]
        for request_id in ids:
            httpx.post(f"http://127.0.0.1:{port}/token", headers={"X-Request-ID": request_id})
    finally:
        stop(process)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "idp.access" and line["path"] == "/token"]
    assert [line["request_id"] for line in access] == ids
    assert {line["status"] for line in access} == {415}
