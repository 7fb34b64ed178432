"""The console's one guard: a live staff session, the permission the route names, and CSRF.

Every console page and admin API route is wrapped by `page(...)` or `api(...)` with the
permission it needs (`idp.core.staff.PERMISSIONS`); nothing else decides who may do what.
Pages are the citizen pages' form guard (`idp.http.guard`) bound to the staff session; forms
carry a token derived from the session cookie (`idp.http.csrf`); API writes send it as
`X-CSRF-Token`. A domain refusal is answered here, once per surface (`refused_page`,
`refused_json`), from its own status, code and description.

API routes (never pages) also take `Authorization: Bearer <token>` from the provider's own
`client_credentials` grant: the token's `admin:<permission>` scopes stand in for roles
(`idp.core.staff.ADMIN_SCOPES`), no CSRF header is needed (no cookie is involved), and a request
carrying both a staff cookie and a token is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial, wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from idp.admin.words import LANGUAGES, MESSAGES, label, refused_words, say
from idp.core import staff
from idp.core.params import Params
from idp.core.staff import Console, Forbidden
from idp.errors import InvalidRequest, InvalidToken, OAuthError, Refusal
from idp.http import csrf, guard
from idp.http.forms import parse_params
from idp.http.json_body import read_json
from idp.http.offload import core
from idp.http.render import NO_STORE, challenge
from idp.i18n import pick_language

log = logging.getLogger("idp.admin")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PREFIX = "/admin"

Handler = Callable[..., Awaitable[Response]]


def cookie_name(request: Request) -> str:
    return "__Host-idp_staff" if request.app.state.provider.settings.secure_cookies else "idp_staff"


def put_session_cookie(request: Request, response: Response, value: str) -> None:
    settings = request.app.state.provider.settings
    # `__Host-` forces Path=/; SameSite=Strict keeps it off every cross-site request, and only the
    # /admin routes ever read it (citizen pages use their own cookie and their own session table).
    response.set_cookie(
        cookie_name(request),
        value,
        max_age=settings.staff_session_max_ttl,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def drop_session_cookie(request: Request, response: Response) -> None:
    settings = request.app.state.provider.settings
    response.delete_cookie(
        cookie_name(request), path="/", secure=settings.secure_cookies, httponly=True, samesite="strict"
    )


def pending_name(request: Request) -> str:
    return "__Host-idp_console_step" if request.app.state.provider.settings.secure_cookies else "idp_console_step"


def put_pending_cookie(request: Request, response: Response, value: str, max_age: int) -> None:
    """The right password waiting for its passkey (`idp.core.staff_passkeys.Pending`): a cookie
    as strict as the session's, living only as long as the parked step."""
    settings = request.app.state.provider.settings
    response.set_cookie(
        pending_name(request),
        value,
        max_age=max_age,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def drop_pending_cookie(request: Request, response: Response) -> None:
    settings = request.app.state.provider.settings
    response.delete_cookie(
        pending_name(request), path="/", secure=settings.secure_cookies, httponly=True, samesite="strict"
    )


async def console_of(request: Request) -> Console | None:
    return await core(staff.current, request.app.state.provider, request.cookies.get(cookie_name(request)))


def csrf_token(request: Request) -> str:
    """The token of the staff session's forms and API writes."""
    return csrf.token(request.cookies.get(cookie_name(request)) or "", csrf.STAFF)


LANG_COOKIE = "idp_staff_lang"
LANG_COOKIE_TTL = 365 * 86400  # a clerk picks a language once per browser


def language(request: Request) -> str:
    """`?lang=` when a page names it (the switch), else the browser's last choice, else the default
    (Vietnamese unless the operator set `IDP_DEFAULT_LOCALE`)."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or ""
    return pick_language((chosen,), request.app.state.provider.settings.default_locale)


def _switch_url(request: Request, other: str) -> str:
    """This page in the other language: the same path and query, `lang` replaced."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*kept, ("lang", other)])


def render(
    request: Request, name: str, console: Console | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    lang = language(request)
    other = "en" if lang == "vi" else "vi"
    context.update(
        console=console,
        prefix=PREFIX,
        lang=lang,
        t=partial(say, lang),
        w=partial(label, lang),
        switch_url=_switch_url(request, other),
        other_lang=other,
    )
    # A notice names what was just done (`?notice=approved` after the redirect): shown as its
    # sentence, and an unknown name is shown as nothing, never as the raw key.
    notice = context.get("notice")
    context["notice"] = say(lang, f"notice.{notice}") if notice and f"notice.{notice}" in MESSAGES["en"] else ""
    if console is not None and not console.is_service:
        context.setdefault("csrf_token", csrf_token(request))
    response = templates.TemplateResponse(request, name, context, status_code=status_code, headers=NO_STORE)
    if request.query_params.get("lang") in LANGUAGES and request.cookies.get(LANG_COOKIE) != lang:
        settings = request.app.state.provider.settings
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_TTL,
            path=PREFIX,
            secure=settings.secure_cookies,
            httponly=True,
            samesite="lax",
        )
    return response


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path, status_code=303, headers=NO_STORE)


def json_out(body: Any, status_code: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status_code,
        media_type="application/json",
        headers=NO_STORE,
    )


REFUSALS = (Refusal, OAuthError)


def refused_page(request: Request, console: Console | None, exc: Refusal | OAuthError) -> Response:
    message = refused_words(language(request), exc) if isinstance(exc, Refusal) else exc.description
    return render(request, "message.html", console, exc.status_code, title_key="refused.title", message=message)


def refused_json(exc: Refusal | OAuthError) -> Response:
    return json_out({"error": exc.error, "error_description": exc.description}, exc.status_code)


async def _staff_session(request: Request) -> guard.Bound[Console] | Response:
    """The form guard's gate for console pages: without a staff session, the login page."""
    console = await console_of(request)
    if console is None:
        return see_other("/login")
    return guard.Bound(request.cookies.get(cookie_name(request)), csrf.STAFF, console)


def _csrf_refused(request: Request, console: Console) -> Response:
    message = say(language(request), "refused.csrf")
    return render(request, "message.html", console, 403, title_key="refused.title", message=message)


def page(permission: str | None) -> Callable[[Handler], Handler]:
    """A console page: redirect to the login page without a session; 403 without the permission;
    a POST must carry the session's CSRF token. The handler gets (request, console, form)."""

    def wrap(handler: Handler) -> Handler:
        @guard.form(_staff_session, refused=_csrf_refused, gate_first=True)
        @wraps(handler)
        async def guarded(request: Request, form: Params, console: Console) -> Response:
            try:
                if permission is not None:
                    staff.require(console.staff, permission)
                return await handler(request, console, form)
            except REFUSALS as exc:
                return refused_page(request, console, exc)

        return guarded

    return wrap


def _bearer_refusal(request: Request, status: int, error: str, message: str, scope: str | None = None) -> Response:
    """RFC 6750 §3: a refused bearer token says why in `WWW-Authenticate` too."""
    response = json_out({"error": error, "error_description": message}, status)
    response.headers["WWW-Authenticate"] = challenge(
        "Bearer", realm=request.app.state.provider.issuer, error=error, scope=scope or None
    )
    return response


async def _api_caller(request: Request) -> Console | Response:
    """The staff session or the service token behind an API call, or the response refusing it."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        console = await console_of(request)
        if console is None:
            return json_out(
                {
                    "error": "unauthorized",
                    "error_description": "a staff session or an admin-scoped access token is required",
                },
                401,
            )
        return console
    if request.cookies.get(cookie_name(request)) is not None:
        return json_out(
            {
                "error": "invalid_request",
                "error_description": "send a staff session cookie or a bearer token, not both",
            },
            400,
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _bearer_refusal(request, 401, "invalid_request", "use Authorization: Bearer <access token>")
    try:
        return await core(staff.service_console, request.app.state.provider, token.strip())
    except InvalidToken as exc:
        return _bearer_refusal(request, 401, exc.error, exc.description)


def api(permission: str | None) -> Callable[[Handler], Handler]:
    """An admin API route: 401 without a session or service token, 403 without the permission (a
    role for staff, the `admin:<permission>` scope for a token), CSRF header on staff writes.
    `permission=None` admits any staff session or any token holding at least one admin scope.
    The handler gets (request, console, body)."""

    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            provider = request.app.state.provider
            caller = await _api_caller(request)
            if isinstance(caller, Response):
                return caller
            console = caller
            if console.is_service and permission is None and not any(console.can(p) for p in staff.PERMISSIONS):
                return _bearer_refusal(request, 403, "insufficient_scope", "the token carries no admin scope")
            body: dict[str, Any] = {}
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                if not console.is_service and not csrf.matches(
                    request.cookies.get(cookie_name(request)), csrf.STAFF, request.headers.get("x-csrf-token", "")
                ):
                    return json_out({"error": "csrf", "error_description": "X-CSRF-Token is missing or wrong"}, 403)
                try:
                    body = await read_json(request, provider.settings.max_body_bytes, media_type_required=False)
                except InvalidRequest as exc:
                    return json_out({"error": exc.error, "error_description": exc.description}, exc.status_code)
                if not isinstance(body, dict):
                    return json_out({"error": "invalid_request", "error_description": "expected an object"}, 400)
            try:
                if permission is not None:
                    staff.require(console.staff, permission)
                return await handler(request, console, body)
            except Forbidden as exc:
                if console.is_service:
                    scope = staff.ADMIN_SCOPES.get(exc.permission)
                    why = (
                        f"the token's scope does not include {scope}"
                        if scope
                        else f"{exc.permission} needs a staff member; no scope grants it"
                    )
                    return _bearer_refusal(request, 403, "insufficient_scope", why, scope)
                return refused_json(exc)
            except REFUSALS as exc:
                return refused_json(exc)

        guarded.permission = permission  # type: ignore[attr-defined]  # read by the OpenAPI builder's check
        return guarded

    return wrap


def query(request: Request) -> Params:
    """The console's and the API's query string, read by the same rules as every other request: a
    repeated parameter is refused (400), never resolved to its first value."""
    return parse_params(request.url.query)


def one(form: Params, name: str) -> str:
    """A console field's one value ("" when absent); a repeated field is refused (400), never resolved."""
    return form.one(name) or ""
