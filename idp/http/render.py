"""Rendering: pages, JSON, and every error, in exactly one place.

An `OAuthError` becomes a redirect to the client only when the core has proven the client's
redirect URI (`exc.redirect_uri`); otherwise a page for people on the interactive paths, or
the RFC 6749 JSON error for back-channel callers. A domain `Refusal` becomes the page of its
message in the citizen's language, or the same JSON error shape. Anything unexpected goes on to
the error boundary (`boundary.ErrorBoundary`): a 503 when storage failed, else a logged 500.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from idp.core import dpop
from idp.core.interactions import error_redirect
from idp.errors import InvalidClient, InvalidDpopProof, InvalidToken, OAuthError, Refusal, UseDpopNonce, ValidationError
from idp.http.formats import day_text, level_text, moment_iso, moment_text
from idp.i18n import pick_language, t, words

if TYPE_CHECKING:
    from jinja2.runtime import Context
    from starlette.templating import Jinja2Templates

log = logging.getLogger("idp.http")


def _moment(context: Context, epoch: int) -> str:
    return moment_text(epoch, context["zone"])


def _moment_iso(context: Context, epoch: int) -> str:
    return moment_iso(epoch, context["zone"])


def _level(context: Context, level: str) -> str:
    return level_text(context["lang"], level)


@functools.cache
def templates() -> Jinja2Templates:
    """The pages' templates, set up by the first page rendered: Jinja2 (~60 ms of imports) is not
    on the path to a ready process, whose first requests may all be tokens and discovery."""
    from jinja2 import pass_context
    from starlette.templating import Jinja2Templates

    loaded = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
    loaded.env.globals["t"] = t
    loaded.env.filters.update(
        moment=pass_context(_moment), moment_iso=pass_context(_moment_iso), day=day_text, level=pass_context(_level)
    )
    return loaded


PAGE_PREFIXES = ("/authorize", "/interaction", "/logout", "/register", "/reset", "/account", "/privacy")
# The citizens' JSON API (for apps): refusals worded in the Accept-Language of the app.
API_PREFIXES = ("/api/registrations",)
# Protected resources (RFC 6750, RFC 9449 §7.1): a refused proof there is a 401 with a DPoP challenge.
RESOURCES = ("/userinfo",)
DPOP_ALGS = " ".join(dpop.ALGS)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def language(request: Request, requested: tuple[str, ...] = ()) -> str:
    chosen = request.query_params.get("lang")
    return pick_language(
        ((chosen,) if chosen else ()) + tuple(requested), request.app.state.provider.settings.default_locale
    )


def api_language(request: Request) -> str:
    accepted = [part.split(";")[0] for part in request.headers.get("accept-language", "").split(",")]
    return pick_language(accepted, request.app.state.provider.settings.default_locale)


def page(request: Request, name: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    settings = request.app.state.provider.settings
    context.update(lang=lang, other_lang="en" if lang == "vi" else "vi", zone=ZoneInfo(settings.timezone))
    context.setdefault("errors", {})
    context["site"] = {
        "operator": settings.operator_name,
        "help_phone": settings.help_phone,
        "help_tel": "".join(c for c in settings.help_phone if c.isdigit() or c == "+"),
        "privacy_url": settings.privacy_url or f"/privacy?lang={lang}",
    }
    response = templates().TemplateResponse(request, name, context, status_code=status_code, headers=NO_STORE)
    return response


def field_errors(
    lang: str, exc: Refusal, on: str, fields: Mapping[str, str] | None = None, message: str | None = None
) -> dict[str, str]:
    """A refusal tied to the form field it is about, for the error summary and the field's own
    message (the GOV.UK pattern): {element id: words}. A `ValidationError` names its field (the
    core's name, mapped by `fields` to the element on this page); any other refusal, such as a wrong
    code or a wait, is about the field `on`, the one the citizen must fill in again."""
    target = on
    if isinstance(exc, ValidationError) and fields and exc.field in fields:
        target = fields[exc.field]
    return {target: message if message is not None else words(lang, exc)}


_compact_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps with an option builds one a call


def json_response(body: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _compact_json(body),
        status_code=status_code,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def challenge(scheme: str, **params: str | None) -> str:
    """One `WWW-Authenticate` challenge (RFC 9110 §11.6.1): the scheme and its quoted parameters,
    in the order given; a parameter that is None is left out."""
    quoted = ", ".join(f'{name}="{value}"' for name, value in params.items() if value is not None)
    return f"{scheme} {quoted}" if quoted else scheme


def json_error(request: Request, exc: OAuthError) -> Response:
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    headers = dict(exc.headers)
    issuer = request.app.state.provider.issuer
    status_code = exc.status_code
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = challenge("Basic", realm=issuer)
    elif isinstance(exc, InvalidToken):
        headers["WWW-Authenticate"] = challenge(
            "Bearer", realm=issuer, error=exc.error, error_description=exc.description
        )
    elif isinstance(exc, (InvalidDpopProof, UseDpopNonce)) and request.url.path in RESOURCES:
        # RFC 9449 §7.1 and §9: at a resource, proof problems are 401 with a DPoP challenge.
        body = {"error": exc.error, "error_description": exc.description}
        headers = {"WWW-Authenticate": challenge("DPoP", error=exc.error, algs=DPOP_ALGS), **exc.headers}
        status_code = 401
    return json_response(body, status_code, headers)


def refusal_json(exc: Refusal, lang: str, description: str | None = None) -> Response:
    """The JSON answer to a domain refusal, for every JSON surface: the citizen's words by
    default, or the operator's `description` where the caller is staff or a program."""
    body = {
        "error": exc.error,
        **exc.fields,
        "error_description": words(lang, exc) if description is None else description,
    }
    return json_response(body, exc.api_status_code or exc.status_code, exc.headers)


def error_page(request: Request, message_key: str, status_code: int, detail: str = "") -> HTMLResponse:
    """Every error page in the citizen's words, with a way on (see error.html); a protocol
    detail is shown apart, labelled as being for the portal's developers."""
    return page(
        request, "error.html", language(request), status_code=status_code, message_key=message_key, detail=detail
    )


_OAUTH_PAGES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "unauthorized_client",
        "invalid_scope",
        "unsupported_response_type",
        "invalid_request_uri",
        "temporarily_unavailable",
    }
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
        key = f"oauth.{exc.error}" if exc.error in _OAUTH_PAGES else "error.generic"
        detail = f"{exc.error}: {exc.description}" if exc.description else exc.error
        return error_page(request, key, exc.status_code, detail)
    return json_error(request, exc)


async def on_refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    if is_page(request):
        return error_page(request, exc.message_key, exc.status_code)
    if request.url.path.startswith(API_PREFIXES):
        return refusal_json(exc, api_language(request))
    return refusal_json(exc, language(request), exc.description)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if is_page(request):
        key = {404: "error.not_found", 405: "error.method"}.get(exc.status_code, "error.generic")
        return error_page(request, key, exc.status_code)
    error = "invalid_request" if exc.status_code in (405, 413, 415) else "not_found"
    return json_response({"error": error, "error_description": str(exc.detail)}, exc.status_code)


ERROR_HANDLERS = {
    OAuthError: on_oauth_error,
    Refusal: on_refusal,
    HTTPException: on_http_error,
}
