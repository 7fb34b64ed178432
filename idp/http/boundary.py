"""The one place an exception no handler took becomes an answer.

Protocol errors and refusals are rendered by their handlers (`render.ERROR_HANDLERS`); what is
left reaches this boundary. A storage fault (the database down or restarting, the disk full or
read-only) is not the request's fault: 503 with `Retry-After`, the OAuth JSON error
`temporarily_unavailable` or a page, counted by cause and logged in one short line. Anything else
is a defect: a complete 500, logged once with its traceback and the request id.

The boundary answers instead of re-raising. Starlette's ServerErrorMiddleware sends its 500 and
then re-raises for the server to log; uvicorn then logs the traceback a second time and, as the
response had started, closes the keep-alive connection under the client's next request.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.core.policy import RETRY_AFTER_UNAVAILABLE
from idp.errors import ServerError, TemporarilyUnavailable
from idp.http.render import NO_STORE, error_page, is_page, json_error
from idp.metrics import UNAVAILABLE, UNEXPECTED

log = logging.getLogger("idp.http")

# Under load a database outage fails hundreds of requests a second: one line per cause this often.
LOG_EVERY = 10.0


class Fault(Protocol):
    """A storage fault: its cause (a metrics label) and one line of detail (`idp.store.faults`)."""

    @property
    def cause(self) -> str: ...

    @property
    def detail(self) -> str: ...


class Classifier(Protocol):
    def classify(self, exc: BaseException) -> Fault | None: ...


class ErrorBoundary:
    """Answers every exception that escaped the handlers; never lets one reach the server."""

    def __init__(self, app: ASGIApp, faults: Classifier, retry_after: int = RETRY_AFTER_UNAVAILABLE) -> None:
        self.app = app
        self.faults = faults
        self.retry_after = retry_after
        self._logged: dict[str, tuple[float, int]] = {}  # cause -> (last line at, answers since)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            request = Request(scope, receive)
            fault = self.faults.classify(exc)
            if fault is not None:
                self._note_unavailable(request, fault)
            else:
                UNEXPECTED.inc()
                log.exception(
                    "unexpected error on %s %s (request %s)",
                    request.method,
                    request.url.path,
                    scope.get("state", {}).get("request_id", "-"),
                )
            if started:
                return  # too late to answer; the server ends this one response, the log has the cause
            response = self._unavailable(request) if fault is not None else self._server_error(request)
            await response(scope, receive, send)

    def _note_unavailable(self, request: Request, fault: Fault) -> None:
        UNAVAILABLE.labels(fault.cause).inc()
        now = time.monotonic()
        last, since = self._logged.get(fault.cause, (float("-inf"), 0))
        if now - last < LOG_EVERY:
            self._logged[fault.cause] = (last, since + 1)
            return
        self._logged[fault.cause] = (now, 0)
        log.warning(
            "503 %s on %s %s: %s%s",
            fault.cause,
            request.method,
            request.url.path,
            fault.detail,
            f" ({since} more since the last line)" if since else "",
            extra={"cause": fault.cause},
        )

    def _unavailable(self, request: Request) -> Response:
        headers = {"Retry-After": str(self.retry_after)}
        return self._render(
            request,
            TemporarilyUnavailable("the service is temporarily unavailable, try again later"),
            "error.unavailable",
            headers,
        )

    def _server_error(self, request: Request) -> Response:
        return self._render(request, ServerError("the server could not complete the request"), "error.server", {})

    @staticmethod
    def _render(
        request: Request, error: ServerError | TemporarilyUnavailable, message_key: str, headers: dict[str, str]
    ) -> Response:
        try:
            if _wants_page(request):
                response: Response = error_page(request, message_key, error.status_code)
            else:
                error.headers = headers
                return json_error(request, error)
        except Exception:  # a page that cannot render (its own storage read failing): plain words
            log.warning("error page failed to render", exc_info=True)
            response = PlainTextResponse(error.description, status_code=error.status_code, headers=NO_STORE)
        response.headers.update(headers)
        return response


def _wants_page(request: Request) -> bool:
    """Citizen pages and the staff console's pages get a page; the admin API and OAuth get JSON."""
    path = request.url.path
    return is_page(request) or (path.startswith("/admin") and not path.startswith("/admin/api"))
