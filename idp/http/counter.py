"""The page a counter's SMS link opens: the citizen enters the code from the SMS and chooses their
own password (registration or recovery at the counter, or a dispute's new account)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import counter
from idp.core.limits import SendRefused
from idp.core.otp import CodeRefused
from idp.core.params import Params
from idp.errors import ValidationError
from idp.http import csrf, guard
from idp.http.offload import core, password_work
from idp.http.peer import client_ip
from idp.http.render import field_errors, language, page


def _form(
    request: Request,
    lang: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    notice_key: str | None = None,
) -> Response:
    token, new_cookie = csrf.token_for(request)
    response = page(
        request,
        "counter_password.html",
        lang,
        status_code=status_code,
        flow_id=request.path_params["flow_id"],
        csrf_token=token,
        errors=errors or {},
        notice_key=notice_key,
    )
    return csrf.remember(request, response, new_cookie)


async def show(request: Request) -> Response:
    """Opening the link changes nothing (SMS apps fetch links to preview them)."""
    await core(counter.open_flow, request.app.state.provider, request.path_params["flow_id"])
    return _form(request, language(request))


@guard.form(guard.form_cookie)
async def submit(request: Request, form: Params, _: None) -> Response:
    provider = request.app.state.provider
    flow_id = request.path_params["flow_id"]
    lang = language(request)
    try:
        if form.one("action") == "resend":
            await core(counter.resend, provider, flow_id, client_ip=client_ip(request), lang=lang)
            return _form(request, lang, notice_key="code.sent")
        await password_work(
            request,
            counter.finish_password,
            provider,
            flow_id,
            form.one("code") or "",
            form.one("password") or "",
            lang=lang,
        )
    except (ValidationError, CodeRefused, SendRefused) as exc:
        return _form(request, lang, exc.status_code, field_errors(lang, exc, "code", {"password": "password"}))
    return page(request, "message.html", lang, title_key="counter.title", message_key="counter.done")
