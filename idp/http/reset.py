"""Forgot password: identify, receive an SMS code, set a new password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import flows, reset
from idp.core.limits import SendRefused
from idp.core.otp import CodeRefused
from idp.errors import ValidationError
from idp.http import cookies, csrf
from idp.http.flow_pages import live_secret, posted_form
from idp.http.forms import one, read_form
from idp.http.offload import core, password_work
from idp.http.peer import client_ip
from idp.http.render import error_page, language, page, redirect
from idp.i18n import refusal, t


def _start_page(request: Request, status_code: int = 200, error: str | None = None) -> Response:
    token, new_cookie = csrf.token_for(request)
    response = page(request, "reset.html", language(request), status_code=status_code, csrf_token=token, error=error)
    return csrf.remember(request, response, new_cookie)


async def show(request: Request) -> Response:
    return _start_page(request)


async def submit(request: Request) -> Response:
    provider = request.app.state.provider
    form = await read_form(request, provider.settings.max_body_bytes)
    lang = language(request)
    if not csrf.valid(request, one(form, "csrf_token")):
        return error_page(request, "error.csrf", 403)
    try:
        started = await core(
            reset.start, provider, one(form, "identifier") or "", client_ip=client_ip(request), lang=lang
        )
    except SendRefused:
        return _start_page(request, 429, t(lang, "code.send_refused"))
    response = redirect(f"{provider.issuer}/reset/{started.flow_id}?lang={lang}")
    cookies.put(
        response,
        provider.settings,
        cookies.flow_name(provider.settings, started.flow_id),
        started.secret,
        flows.FLOW_TTL,
    )
    return response


def _code_page(
    request: Request, flow_id: str, secret: str, status_code: int = 200, error: str | None = None
) -> Response:
    return page(
        request,
        "reset_verify.html",
        language(request),
        status_code=status_code,
        flow_id=flow_id,
        csrf_token=flows.csrf_token(secret, flow_id),
        error=error,
    )


async def show_code(request: Request) -> Response:
    secret = await live_secret(request, "reset")
    if isinstance(secret, Response):
        return secret
    return _code_page(request, request.path_params["flow_id"], secret)


async def finish(request: Request) -> Response:
    provider = request.app.state.provider
    posted = await posted_form(request)
    if isinstance(posted, Response):
        return posted
    secret, form = posted
    flow_id = request.path_params["flow_id"]
    lang = language(request)
    try:
        await password_work(
            request, reset.finish, provider, flow_id, secret, one(form, "code") or "", one(form, "password") or ""
        )
    except flows.FlowGone:
        return error_page(request, "error.expired", 400)
    except ValidationError as exc:
        return _code_page(request, flow_id, secret, 400, refusal(lang, exc.field, exc.code, exc.params))
    except CodeRefused:
        return _code_page(request, flow_id, secret, 401, t(lang, "code.refused"))
    response = page(request, "message.html", lang, title_key="reset.title", message_key="reset.done")
    cookies.drop(response, provider.settings, cookies.flow_name(provider.settings, flow_id))
    return response
