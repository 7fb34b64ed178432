"""Rendering: pages, JSON, and every error, in exactly one place.

An `OAuthError` becomes a redirect to the client only when the core has proven the client's
redirect URI (`exc.redirect_uri`); otherwise a page for people on the interactive paths, or
the RFC 6749 JSON error for back-channel callers. Anything unexpected is logged with its
detail and answered as a generic `server_error`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from idp.core.interactions import error_redirect
from idp.errors import InvalidClient, InvalidToken, OAuthError, ServerError
from idp.i18n import pick_language, t

log = logging.getLogger("idp.http")
templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
templates.env.globals["t"] = t
templates.env.filters["datetime"] = lambda epoch: datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")

PAGE_PREFIXES = ("/authorize", "/interaction", "/logout", "/register", "/reset", "/account")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def language(request: Request, requested: tuple[str, ...] = ()) -> str:
    chosen = request.query_params.get("lang")
    return pick_language(
        ((chosen,) if chosen else ()) + tuple(requested), request.app.state.provider.settings.default_locale
    )


def page(request: Request, name: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.update(lang=lang, other_lang="en" if lang == "vi" else "vi")
    response = templates.TemplateResponse(request, name, context, status_code=status_code, headers=NO_STORE)
    return response


def json_response(body: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status_code,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def json_error(request: Request, exc: OAuthError) -> Response:
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    headers = dict(exc.headers)
    issuer = request.app.state.provider.issuer
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = f'Basic realm="{issuer}"'
    elif isinstance(exc, InvalidToken):
        headers["WWW-Authenticate"] = (
            f'Bearer realm="{issuer}", error="{exc.error}", error_description="{exc.description}"'
        )
    return json_response(body, exc.status_code, headers)


def error_page(request: Request, message_key: str, status_code: int, detail: str = "") -> HTMLResponse:
    return page(
        request, "error.html", language(request), status_code=status_code, message_key=message_key, detail=detail
    )


def is_page(request: Request) -> bool:
    return request.url.path.startswith(PAGE_PREFIXES)


async def on_oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    if exc.detail:
        log.info("%s %s: %s (%s)", request.method, request.url.path, exc.error, exc.detail)
    if exc.redirect_uri is not None:
        return redirect(error_redirect(request.app.state.provider, exc))
    if is_page(request):
        return error_page(request, "error.generic", exc.status_code, exc.description)
    return json_error(request, exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if is_page(request):
        return error_page(request, "error.generic", exc.status_code, str(exc.detail))
    error = "invalid_request" if exc.status_code in (405, 413, 415) else "not_found"
    return json_response({"error": error, "error_description": str(exc.detail)}, exc.status_code)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    if is_page(request):
        return error_page(request, "error.generic", 500)
    return json_error(request, ServerError("the server could not complete the request"))


ERROR_HANDLERS = {OAuthError: on_oauth_error, HTTPException: on_http_error, Exception: on_unexpected}
