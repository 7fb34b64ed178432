"""What operators see: JSON logs carrying a request id, and the Prometheus metrics.

Every request gets an id (the proxy's `X-Request-ID` when it is well-formed, otherwise a fresh
one). It is put on `request.state.request_id`, in the `REQUEST_ID` context variable (so the
audit trail and any log line written while the request runs can carry it), and on the
response's `X-Request-ID` header. The middleware is plain ASGI and does a few microseconds of
work per request: no body parsing except a peek at `/token`'s `grant_type`.

Metrics live in the process's default Prometheus registry. With several worker processes,
`idp serve --workers N` points `PROMETHEUS_MULTIPROC_DIR` at a private folder so `/metrics`
answers for the whole machine, whichever worker the scrape lands on.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import threading
import time
from typing import Any, TextIO, cast

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.context import CLIENT_IP, REQUEST_ID, USER_AGENT
from idp.delivery.message import Message as Outgoing
from idp.delivery.senders import Sender
from idp.metrics import (
    CODES_SENT,
    HOUSEKEEPING_PRUNED,
    LATENCY,
    LOGINS,
    REQUESTS,
    TOKENS,
)

_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
HEADER = b"x-request-id"

access_log = logging.getLogger("idp.access")

_LOGIN_OUTCOME = {303: "success", 401: "failed", 429: "throttled"}
_GRANT_TYPES = (b"authorization_code", b"refresh_token", b"client_credentials")


def counting_sender(channel: str, sender: Sender) -> Sender:
    """Wrap a sender so each send is counted by channel and result; the sender is unchanged."""

    class Counted:
        def send(self, message: Outgoing) -> None:
            try:
                sender.send(message)
            except Exception:
                CODES_SENT.labels(channel, "failed").inc()
                raise
            CODES_SENT.labels(channel, "sent").inc()

        def __getattr__(self, name: str) -> Any:
            return getattr(sender, name)

    return Counted()


# ---- logging -------------------------------------------------------------------------------


_encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps with an option builds one a call
_quoted = json.encoder.encode_basestring  # a JSON string, non-ASCII kept (C when available)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, and any `extra` fields.

    An access line (`Observability`) is written from the fields it carries in `_access`, without
    scanning the record: the generic path was ~10 µs of a request's ~70 µs of middleware."""

    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message",
        "asctime",
        "color_message",
    }

    def format(self, record: logging.LogRecord) -> str:
        access = record.__dict__.get("_access")
        if access is not None and not record.exc_info:
            return self._access_line(record, *access)
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _encode(out)

    @staticmethod
    def _access_line(
        record: logging.LogRecord, method: str, path: str, status: int, duration_ms: float, client: str | None
    ) -> str:
        return access_json(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            method,
            path,
            status,
            duration_ms,
            client,
        )


def access_json(
    created: float,
    level: str,
    logger: str,
    msg: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    client: str | None,
) -> str:
    """An access line as `JsonFormatter`'s generic path writes it, key for key."""
    return (
        f'{{"ts": {round(created, 3)!r}, "level": {_quoted(level.lower())}, '
        f'"logger": {_quoted(logger)}, "msg": {_quoted(msg)}, '
        f'"request_id": {_quoted(REQUEST_ID.get())}, "method": {_quoted(method)}, "path": {_quoted(path)}, '
        f'"status": {int(status)}, "duration_ms": {float(duration_ms)!r}, '
        f'"client": {"null" if client is None else _quoted(client)}}}'
    )


class BufferedStreamHandler(logging.StreamHandler[TextIO]):
    """Writes access-log lines in batches, at most `interval` seconds late; every other line (and
    any warning) at once, with the batch before it. One write per access line was a system call
    per request (8% of a token request's samples); nginx buffers its access log the same way.
    The app flushes when it shuts down; a process killed with SIGKILL loses at most `interval`
    seconds of access lines."""

    def __init__(
        self, stream: Any = None, interval: float = 0.5, capacity: int = 512, batched: tuple[str, ...] = ("idp.access",)
    ) -> None:
        super().__init__(stream)
        self.interval, self.capacity, self.batched = interval, capacity, batched
        self._pending: list[str] = []
        self._flusher = threading.Thread(target=self._flush_periodically, name="log-flush", daemon=True)
        self._stopping = threading.Event()
        self._flusher.start()

    def _lock(self) -> threading.RLock:
        # Handler.__init__ always creates it; the stubs allow None for handlers that override createLock.
        return cast(threading.RLock, self.lock)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._queue(line, urgent=record.name not in self.batched or record.levelno >= logging.WARNING)

    def add_batched(self, line: str) -> None:
        """A line already formatted, queued as a batched record's would be (`emit`)."""
        self._queue(line, urgent=False)

    def _queue(self, line: str, urgent: bool) -> None:
        with self._lock():
            self._pending.append(line + self.terminator)
            urgent = urgent or len(self._pending) >= self.capacity
        if urgent:
            self.flush()

    def flush(self) -> None:
        with self._lock():
            lines, self._pending = self._pending, []
            if lines and self.stream is not None:
                self.stream.write("".join(lines))
            if self.stream is not None and hasattr(self.stream, "flush"):
                self.stream.flush()

    def _flush_periodically(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.flush()
            except Exception:
                return

    def close(self) -> None:
        self._stopping.set()
        try:
            self.flush()
        finally:
            super().close()


def direct_access_handler() -> BufferedStreamHandler | None:
    """The one handler an access record would reach, when it is this module's, writes JSON and
    filters nothing: the line is then made and queued without a LogRecord (making the record and
    handing it through the logger cost ~60 k instructions, a fifth of a request's middleware).
    Any other set-up (a test capturing logs, a second handler, a filter, text lines) keeps the
    logging path."""
    found: logging.Handler | None = None
    logger: logging.Logger | None = access_log
    while logger is not None:
        if logger.filters:
            return None
        for handler in logger.handlers:
            if found is not None:
                return None
            found = handler
        if not logger.propagate:
            break
        logger = logger.parent
    if (
        isinstance(found, BufferedStreamHandler)
        and not found.filters
        and found.level <= logging.INFO
        and type(found.formatter) is JsonFormatter
        and access_log.name in found.batched
    ):
        return found
    return None


def flush_logs() -> None:
    """Write out batched lines (at shutdown: uvicorn ends the process by re-raising the signal,
    so exit handlers do not run)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def log_config(log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the provider and uvicorn (uvicorn takes it as `log_config`)."""
    formatter: dict[str, Any] = (
        {"()": "idp.observability.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "idp.observability.BufferedStreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            # The provider writes its own access line (with the request id); uvicorn's is off.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(log_format: str) -> None:
    import logging.config

    logging.config.dictConfig(log_config(log_format))


# ---- the middleware ------------------------------------------------------------------------

# A correlation id, not a secret: a random per-process prefix and a counter are unique enough and
# cost nothing (a fresh os.urandom call per request showed up in the profile).
_ID_PREFIX = os.urandom(6).hex()
_id_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):012x}"


def request_id_for(scope: Scope) -> str:
    """The proxy's `X-Request-ID` when it is well-formed, otherwise a new one."""
    return _request_id(_header(scope, HEADER))


def _request_id(incoming: bytes) -> str:
    if incoming:
        text = incoming.decode("latin-1")
        if _INCOMING_ID.fullmatch(text):
            return text
    return new_request_id()


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _id_and_agent(scope: Scope) -> tuple[bytes, bytes]:
    """The incoming request id and user agent, in one pass over the headers."""
    incoming = agent = b""
    for key, value in scope["headers"]:
        if key == HEADER:
            incoming = value
        elif key == b"user-agent":
            agent = value
    return incoming, agent


class Observability:
    """Request id, access log line and request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self._templates: dict[Any, str] | None = None
        # The metrics' children by label values: `labels()` validates and locks on every call.
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def _template(self, scope: Scope) -> str:
        if self._templates is None:
            templates: dict[Any, str] = {}
            for route in getattr(scope.get("app"), "routes", ()):
                endpoint = getattr(route, "endpoint", None)
                if endpoint is not None:
                    templates.setdefault(endpoint, route.path)
            self._templates = templates
        try:
            return self._templates[scope.get("endpoint")]
        except (KeyError, TypeError):  # TypeError: a mount's Router is left there when no route matched
            return "/static" if scope.get("path", "").startswith("/static/") else "other"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming, agent = _id_and_agent(scope)
        request_id = _request_id(incoming)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        peer = scope.get("client")
        ip_token = CLIENT_IP.set(peer[0] if peer else None)
        agent_token = USER_AGENT.set(agent[:300].decode("latin-1") if agent else None)
        status = 500
        grant_type = b""
        is_token = scope["path"] == "/token"

        async def peek_receive() -> Message:
            nonlocal grant_type
            message = await receive()
            if not grant_type and message["type"] == "http.request":
                body = message.get("body", b"")
                for name in _GRANT_TYPES:
                    if b"grant_type=" + name in body:
                        grant_type = name
                        break
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((HEADER, request_id.encode()))
            await send(message)

        try:
            await self.app(scope, peek_receive if is_token else receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = self._template(scope)
            self._child(REQUESTS, endpoint, scope["method"], str(status)).inc()
            self._child(LATENCY, endpoint).observe(elapsed)
            if is_token and status == 200 and grant_type:
                self._child(TOKENS, grant_type.decode()).inc()
            elif endpoint == "/interaction/{interaction_id}/login" and scope["method"] == "POST":
                self._child(LOGINS, _LOGIN_OUTCOME.get(status, "refused")).inc()
            if self.access_log_enabled and access_log.isEnabledFor(logging.INFO):
                self._access_line(scope, status, elapsed)
            REQUEST_ID.reset(token)
            CLIENT_IP.reset(ip_token)
            USER_AGENT.reset(agent_token)

    @staticmethod
    def _access_line(scope: Scope, status: int, elapsed: float) -> None:
        client = scope.get("client")
        method, path, duration_ms = scope["method"], scope["path"], round(elapsed * 1000, 2)
        peer = client[0] if client else None
        direct = direct_access_handler()
        if direct is not None:
            line = access_json(
                time.time(),
                "INFO",
                access_log.name,
                f"{method} {path} {status}",
                method,
                path,
                status,
                duration_ms,
                peer,
            )
            direct.add_batched(line)
            return
        fields = (method, path, status, duration_ms, peer)
        # Made here rather than by `access_log.info`, which walks the stack to name its caller for
        # every line: the caller of every access line is this one.
        record = access_log.makeRecord(
            access_log.name,
            logging.INFO,
            __file__,
            0,
            "%s %s %d",
            fields[:3],
            None,
            "Observability.__call__",
            {"_access": fields},
        )
        access_log.handle(record)


__all__ = [
    "CODES_SENT",
    "HOUSEKEEPING_PRUNED",
    "LATENCY",
    "LOGINS",
    "REQUESTS",
    "REQUEST_ID",
    "TOKENS",
    "JsonFormatter",
    "Observability",
    "configure_logging",
    "counting_sender",
    "log_config",
]
