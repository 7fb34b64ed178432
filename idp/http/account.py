"""The citizen's account page: identity, level, authenticator app, recovery codes, phone, logout.

Without a session it starts a login through the same pages a portal login uses.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import account, factors, flows, interactions, sessions
from idp.core.authn import LoginFailed
from idp.core.identity import phone_for_display
from idp.core.limits import SendRefused
from idp.core.otp import CodeRefused
from idp.crypto.opaque import derive, equal
from idp.errors import ValidationError
from idp.http import cookies
from idp.http._run import client_ip, core, password_work
from idp.http.forms import one, read_form
from idp.http.render import error_page, language, page, redirect
from idp.i18n import refusal, t
from idp.store.records import CitizenRecord, SessionRecord


def _csrf(cookie_value: str) -> str:
    return derive(cookie_value, "account")


async def _session(request: Request) -> tuple[SessionRecord, str] | None:
    provider = request.app.state.provider
    cookie_value = request.cookies.get(cookies.session_name(provider.settings))
    session = await core(sessions.current, provider, cookie_value)
    return (session, cookie_value) if session and cookie_value else None


async def _login(request: Request) -> Response:
    provider = request.app.state.provider
    parked = await core(interactions.start_account_login, provider, "/account")
    response = redirect(f"{provider.issuer}/interaction/{parked.interaction_id}")
    cookies.put(response, provider.settings, cookies.interaction_name(provider.settings, parked.interaction_id),
                parked.binding, provider.settings.interaction_ttl)
    return response


async def _render(request: Request, session: SessionRecord, cookie_value: str, status_code: int = 200,
                  **extra: object) -> Response:
    provider = request.app.state.provider
    view = await core(account.overview, provider, session.citizen_id)
    if view is None:
        return error_page(request, "error.expired", 400)
    extra.setdefault("template", "account.html")
    template = str(extra.pop("template"))
    return page(request, template, language(request), status_code=status_code, view=view, session=session,
                phone=phone_for_display(view.citizen.phone), csrf_token=_csrf(cookie_value), **extra)


async def show(request: Request) -> Response:
    found = await _session(request)
    if found is None:
        return await _login(request)
    return await _render(request, *found)


async def _checked(request: Request) -> tuple[SessionRecord, str, dict[str, list[str]], CitizenRecord] | Response:
    provider = request.app.state.provider
    form = await read_form(request, provider.settings.max_body_bytes)
    found = await _session(request)
    if found is None:
        return redirect(f"{provider.issuer}/account")
    session, cookie_value = found
    if not equal(_csrf(cookie_value), one(form, "csrf_token") or ""):
        return error_page(request, "error.csrf", 403)
    citizen = await core(provider.store.citizens.get, session.citizen_id)
    return session, cookie_value, form, citizen


async def totp_begin(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, cookie_value, _, citizen = checked
    try:
        enrolment = await core(factors.begin_totp, request.app.state.provider, citizen)
    except factors.AlreadyEnrolled:
        return await _render(request, session, cookie_value, 409, notice=t(language(request), "totp.already"))
    return await _render(request, session, cookie_value, template="totp_enrol.html", enrolment=enrolment)


async def totp_confirm(request: Request) -> Response:
    provider = request.app.state.provider
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, cookie_value, form, citizen = checked
    try:
        codes = await core(factors.confirm_totp, provider, citizen.id, one(form, "code") or "")
    except CodeRefused:
        codes = None
    if codes is None:
        enrolment = await core(account.pending_enrolment, provider, citizen)
        if enrolment is None:
            return await _render(request, session, cookie_value)
        return await _render(request, session, cookie_value, 401, template="totp_enrol.html", enrolment=enrolment,
                             error=t(language(request), "code.refused"))
    return await _render(request, session, cookie_value, template="recovery_codes.html", codes=codes)


async def recovery_codes(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, cookie_value, _, citizen = checked
    codes = await core(factors.new_recovery_codes, request.app.state.provider, citizen.id)
    return await _render(request, session, cookie_value, template="recovery_codes.html", codes=codes)


async def phone_begin(request: Request) -> Response:
    provider = request.app.state.provider
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, cookie_value, form, citizen = checked
    lang = language(request)
    try:
        started = await password_work(request, account.start_phone_change, provider, citizen,
                                      one(form, "password") or "", one(form, "phone") or "",
                                      client_ip=client_ip(request), lang=lang)
    except LoginFailed:
        return await _render(request, session, cookie_value, 401, notice=t(lang, "login.failed"))
    except ValidationError as exc:
        return await _render(request, session, cookie_value, 400,
                             notice=refusal(lang, exc.field, exc.code, exc.params))
    except SendRefused:
        return await _render(request, session, cookie_value, 429, notice=t(lang, "code.send_refused"))
    response = await _render(request, session, cookie_value, template="phone_verify.html", flow_id=started.flow_id)
    cookies.put(response, provider.settings, cookies.flow_name(provider.settings, started.flow_id), started.secret,
                flows.FLOW_TTL)
    return response


async def phone_confirm(request: Request) -> Response:
    provider = request.app.state.provider
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, cookie_value, form, citizen = checked
    lang = language(request)
    flow_id = one(form, "flow_id") or ""
    secret = request.cookies.get(cookies.flow_name(provider.settings, flow_id))
    try:
        await core(account.finish_phone_change, provider, citizen, flow_id, secret, one(form, "code") or "", lang)
    except flows.FlowGone:
        return error_page(request, "error.expired", 400)
    except CodeRefused:
        return await _render(request, session, cookie_value, 401, template="phone_verify.html", flow_id=flow_id,
                             error=t(lang, "code.refused"))
    except ValidationError as exc:
        return await _render(request, session, cookie_value, 400,
                             notice=refusal(lang, exc.field, exc.code, exc.params))
    response = await _render(request, session, cookie_value, notice=t(lang, "phone.changed"))
    cookies.drop(response, provider.settings, cookies.flow_name(provider.settings, flow_id))
    return response


async def withdraw(request: Request) -> Response:
    provider = request.app.state.provider
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, cookie_value, form, citizen = checked
    await core(account.withdraw, provider, citizen.id, one(form, "client_id") or "")
    return await _render(request, session, cookie_value, notice=t(language(request), "connected.withdrawn"))
