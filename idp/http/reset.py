"""Forgot password: identify, receive an SMS code, set a new password (with the app's code, a
recovery code or a passkey on an account that has one of them)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from idp.core import reset
from idp.core.limits import SendRefused
from idp.core.otp import CodeRefused
from idp.core.params import Params
from idp.errors import ValidationError
from idp.http import cookies, csrf, guard
from idp.http.flow_pages import csrf_token, flow_secret, keep_flow, live_secret, return_to_interaction
from idp.http.offload import core, password_work
from idp.http.peer import client_ip
from idp.http.render import field_errors, language, page, redirect


def _start_page(request: Request, status_code: int = 200, errors: dict[str, str] | None = None) -> Response:
    token, new_cookie = csrf.token_for(request)
    response = page(
        request,
        "reset.html",
        language(request),
        status_code=status_code,
        csrf_token=token,
        errors=errors or {},
        ix=_ix(request),
    )
    return csrf.remember(request, response, new_cookie)


def _ix(request: Request) -> str:
    """The portal login the citizen came from (`?ix=`), only if it looks like an interaction id."""
    raw = request.query_params.get("ix", "")
    return raw if return_to_interaction(raw) else ""


async def show(request: Request) -> Response:
    return _start_page(request)


@guard.form(guard.form_cookie)
async def submit(request: Request, form: Params, _: None) -> Response:
    provider = request.app.state.provider
    lang = language(request)
    try:
        started = await core(
            reset.start,
            provider,
            form.one("identifier") or "",
            client_ip=client_ip(request),
            lang=lang,
            device=cookies.device_of(request),
            return_to=return_to_interaction(request.query_params.get("ix")),
        )
    except SendRefused as exc:
        return _start_page(request, exc.status_code, field_errors(lang, exc, "identifier"))
    response = redirect(f"{provider.issuer}/reset/{started.flow_id}?lang={lang}")
    return keep_flow(request, response, started)


async def _code_page(
    request: Request, flow_id: str, secret: str, status_code: int = 200, errors: dict[str, str] | None = None
) -> Response:
    options = await core(reset.passkey_options, request.app.state.provider, flow_id, secret)
    return page(
        request,
        "reset_verify.html",
        language(request),
        status_code=status_code,
        flow_id=flow_id,
        csrf_token=csrf_token(secret, flow_id),
        errors=errors or {},
        passkey_options=json.dumps(options, separators=(",", ":")) if options else "",
    )


async def show_code(request: Request) -> Response:
    secret = await live_secret(request, "reset")
    return await _code_page(request, request.path_params["flow_id"], secret)


@guard.form(flow_secret)
async def finish(request: Request, form: Params, secret: str) -> Response:
    provider = request.app.state.provider
    flow_id = request.path_params["flow_id"]
    lang = language(request)
    try:
        return_to = await password_work(
            request,
            reset.finish,
            provider,
            flow_id,
            secret,
            form.one("code") or "",
            form.one("password") or "",
            factor_code=form.one("factor_code") or "",
            passkey_credential=form.one("credential") or "",
            lang=lang,
        )
    except (ValidationError, CodeRefused) as exc:
        errors = field_errors(lang, exc, "code", {"password": "password"})
        return await _code_page(request, flow_id, secret, exc.status_code, errors)
    response = page(
        request,
        "message.html",
        lang,
        title_key="reset.title",
        message_key="reset.done_onward" if return_to else "reset.done",
        next_url=f"{return_to or '/account'}?lang={lang}",
        next_key="reset.back_to_login" if return_to else "account.go",
    )
    cookies.drop(response, provider.settings, cookies.flow_name(provider.settings, flow_id))
    return response
