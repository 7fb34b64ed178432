"""The registration pages: declare, receive an SMS code, enter it (and a JSON API for apps).

The API's refusals are answered by `idp.http.render.on_refusal`, worded in the app's language."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import interactions, policy, registration
from idp.core.accounts import CitizenDeclaration
from idp.core.limits import SendRefused
from idp.core.otp import CodeRefused
from idp.core.params import Params
from idp.errors import InvalidRequest, ValidationError
from idp.http import cookies, csrf, guard
from idp.http.flow_pages import csrf_token, flow_secret, keep_flow, live_secret, return_to_interaction, secret_of
from idp.http.json_body import read_json
from idp.http.offload import core, password_work
from idp.http.peer import client_ip
from idp.http.render import api_language, field_errors, json_response, language, page, redirect

# What the verify page tells the citizen about the registry's answer (nothing when none is configured).
_REGISTRY_NOTICES = {
    "match": "register.registry_checked",
    "unknown": "register.registry_unknown",
    "unavailable": "register.registry_unavailable",
}
FIELDS = ("full_name", "citizen_id", "birth_date", "sex", "phone", "email")  # the form's and the API's: public
_FORM_FIELDS = {name: name for name in (*FIELDS, "password")}  # the core's field names are the form's ids


def _declaration(fields: dict[str, str]) -> CitizenDeclaration:
    """The declared ID number arrives in the `citizen_id` field, a public name kept from before `id_number`."""
    named = dict(fields)
    return CitizenDeclaration(id_number=named.pop("citizen_id"), **named)


def _lang(request: Request) -> str:
    requested = request.query_params.get("ui_locales", "").split()
    return language(request, tuple(requested))


def _form_page(
    request: Request,
    lang: str,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    token, new_cookie = csrf.token_for(request)
    response = page(
        request,
        "register.html",
        lang,
        status_code=status_code,
        values=values or {},
        errors=errors or {},
        csrf_token=token,
        ix=request.query_params.get("ix", ""),
    )
    return csrf.remember(request, response, new_cookie)


async def show(request: Request) -> Response:
    return _form_page(request, _lang(request))


@guard.form(guard.form_cookie)
async def submit(request: Request, form: Params, _: None) -> Response:
    provider = request.app.state.provider
    lang = _lang(request)
    values = {name: form.one(name) or "" for name in FIELDS}
    declaration = _declaration(values)
    try:
        done = await password_work(
            request,
            registration.register,
            provider,
            declaration,
            form.one("password") or "",
            client_ip=client_ip(request),
            lang=lang,
            return_to=return_to_interaction(request.query_params.get("ix")),
        )
    except (ValidationError, SendRefused, registration.RegistryMismatch) as exc:
        # A refusal naming no field (a send refused, the registry's mismatch) is about the
        # number the code goes to, or the identity as a whole, which the name heads.
        on = "phone" if isinstance(exc, SendRefused) else "full_name"
        return _form_page(request, lang, exc.status_code, values, field_errors(lang, exc, on, _FORM_FIELDS))
    registry = f"&registry={done.registry}" if done.registry in _REGISTRY_NOTICES else ""
    response = redirect(f"{provider.issuer}/register/{done.flow.flow_id}?lang={lang}{registry}")
    return keep_flow(request, response, done.flow)


def _verify_page(
    request: Request,
    flow_id: str,
    secret: str,
    lang: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    notice_key: str | None = None,
) -> Response:
    registry_key = _REGISTRY_NOTICES.get(request.query_params.get("registry", ""))
    return page(
        request,
        "register_verify.html",
        lang,
        status_code=status_code,
        flow_id=flow_id,
        csrf_token=csrf_token(secret, flow_id),
        errors=errors or {},
        notice_key=notice_key,
        registry_key=registry_key,
    )


async def show_verify(request: Request) -> Response:
    """The code page; once the code went through, the page that says so (a reload shows it again)."""
    provider = request.app.state.provider
    flow_id = request.path_params["flow_id"]
    done = await core(registration.finished, provider, flow_id, secret_of(request, flow_id))
    if done is not None:
        citizen, return_to = done
        lang = language(request)
        return page(request, "registered.html", lang, citizen=citizen, next_url=_onward(return_to, lang))
    secret = await live_secret(request, "register")
    return _verify_page(request, flow_id, secret, language(request))


def _onward(return_to: str | None, lang: str) -> str:
    return f"{return_to or '/account'}?lang={lang}"


@guard.form(flow_secret)
async def verify(request: Request, form: Params, secret: str) -> Response:
    provider = request.app.state.provider
    flow_id = request.path_params["flow_id"]
    lang = language(request)
    try:
        if form.one("action") == "resend":
            await core(registration.resend, provider, flow_id, secret, client_ip=client_ip(request), lang=lang)
            return _verify_page(request, flow_id, secret, lang, notice_key="code.sent")
        citizen, return_to = await core(registration.verify, provider, flow_id, secret, form.one("code") or "")
    except (SendRefused, CodeRefused) as exc:
        return _verify_page(request, flow_id, secret, lang, exc.status_code, field_errors(lang, exc, "code"))
    session_name = cookies.session_name(provider.settings)
    new = await core(registration.log_in, provider, citizen, request.cookies.get(session_name))
    if return_to and return_to.startswith("/interaction/"):
        interaction_id = return_to.removeprefix("/interaction/")
        binding = request.cookies.get(cookies.interaction_name(provider.settings, interaction_id))
        await core(interactions.adopt_session, provider, interaction_id, binding, new.record)
    # Post/redirect/get: a reload shows the finished page again (the flow cookie stays until it expires).
    response = redirect(f"{provider.issuer}/register/{flow_id}?lang={lang}")
    cookies.put(response, provider.settings, session_name, new.cookie_value, provider.settings.session_max_ttl)
    return response


# -- JSON API (for a mobile app): the same core, a secret in the body instead of a cookie --------


async def _json_body(request: Request) -> dict[str, str]:
    data = await read_json(request, request.app.state.provider.settings.max_body_bytes)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidRequest("the body must be a JSON object of strings")
    return data


async def api_register(request: Request) -> Response:
    provider = request.app.state.provider
    data = await _json_body(request)
    declaration = _declaration({name: str(data.get(name, "")) for name in FIELDS})
    done = await password_work(
        request,
        registration.register,
        provider,
        declaration,
        str(data.get("password", "")),
        client_ip=client_ip(request),
        lang=api_language(request),
    )
    return json_response(
        {
            "flow_id": done.flow.flow_id,
            "flow_secret": done.flow.secret,
            "expires_in": policy.FLOW_TTL,
            "next": "verify",
            # off | match | unknown | unavailable: the number is registry-checked only on a match.
            "registry": done.registry,
        },
        202,
    )


async def api_verify(request: Request) -> Response:
    provider = request.app.state.provider
    data = await _json_body(request)
    flow_id, secret = request.path_params["flow_id"], str(data.get("flow_secret", "")) or None
    if request.url.path.endswith("/resend"):
        await core(
            registration.resend, provider, flow_id, secret, client_ip=client_ip(request), lang=api_language(request)
        )
        return json_response({"status": "sent"}, 202)
    citizen, _ = await core(registration.verify, provider, flow_id, secret, str(data.get("code", "")))
    return json_response({"status": citizen.status, "level": citizen.level})
