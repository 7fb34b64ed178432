"""The citizen's pages inside an authorization: login and consent.

Each works on a parked interaction, bound to this browser by a cookie and protected by a
CSRF token derived from that cookie's secret.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import interactions, sessions
from idp.core.authn import AccountUnavailable, LoginFailed, verify_password
from idp.core.interactions import InteractionGone, Step
from idp.http import cookies
from idp.http._run import core, password_work
from idp.http.forms import one, read_form
from idp.http.render import error_page, language, page, redirect


def _binding(request: Request, interaction_id: str) -> str | None:
    return request.cookies.get(cookies.interaction_name(request.app.state.provider.settings, interaction_id))


async def _step(request: Request) -> Step:
    interaction_id = request.path_params["interaction_id"]
    return await core(interactions.load, request.app.state.provider, interaction_id,
                      _binding(request, interaction_id))


def _gone(request: Request) -> Response:
    return error_page(request, "error.expired", 400)


def _login_page(request: Request, step: Step, status_code: int = 200, error_key: str | None = None,
                identifier: str = "") -> Response:
    return page(request, "login.html", language(request, step.request.ui_locales), status_code=status_code,
                step=step, error_key=error_key, identifier=identifier or (step.request.login_hint or ""))


async def show(request: Request) -> Response:
    provider = request.app.state.provider
    try:
        step = await _step(request)
    except InteractionGone:
        return _gone(request)
    if step.needs_login:
        return _login_page(request, step)
    citizen = await core(provider.store.citizens.get, await _session_citizen(request))
    lang = language(request, step.request.ui_locales)
    return page(request, "consent.html", lang, step=step, citizen=citizen,
                scopes=[s for s in step.request.scope])


async def _session_citizen(request: Request) -> str:
    provider = request.app.state.provider
    session = await core(sessions.current, provider, request.cookies.get(cookies.session_name(provider.settings)))
    return session.citizen_id if session else ""


def _finished(request: Request, step: Step, url: str) -> Response:
    response = redirect(url)
    cookies.drop(response, request.app.state.provider.settings,
                 cookies.interaction_name(request.app.state.provider.settings, step.interaction.id))
    return response


async def login(request: Request) -> Response:
    provider = request.app.state.provider
    form = await read_form(request, provider.settings.max_body_bytes)
    try:
        step = await _step(request)
    except InteractionGone:
        return _gone(request)
    if not interactions.csrf_ok(step, one(form, "csrf_token")):
        return error_page(request, "error.csrf", 403)
    identifier, password = one(form, "identifier") or "", one(form, "password") or ""
    try:
        citizen = await password_work(request, verify_password, provider, identifier, password)
    except LoginFailed:
        return _login_page(request, step, 401, "login.failed", identifier)
    except AccountUnavailable:
        return _login_page(request, step, 403, "login.locked", identifier)
    session_name = cookies.session_name(provider.settings)
    try:
        cookie_value, done = await core(interactions.after_login, provider, step, citizen.id,
                                        request.cookies.get(session_name))
    except InteractionGone:
        return _gone(request)
    response = _finished(request, step, done.url) if done else redirect(
        f"{provider.issuer}/interaction/{step.interaction.id}")
    cookies.put(response, provider.settings, session_name, cookie_value, provider.settings.session_max_ttl)
    return response


async def consent(request: Request) -> Response:
    provider = request.app.state.provider
    form = await read_form(request, provider.settings.max_body_bytes)
    try:
        step = await _step(request)
    except InteractionGone:
        return _gone(request)
    if not interactions.csrf_ok(step, one(form, "csrf_token")):
        return error_page(request, "error.csrf", 403)
    session = await core(sessions.current, provider, request.cookies.get(cookies.session_name(provider.settings)))
    try:
        done = await core(interactions.decide_consent, provider, step, session, one(form, "decision") == "allow")
    except InteractionGone:
        return _gone(request)
    return _finished(request, step, done.url)


