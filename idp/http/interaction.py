"""The citizen's pages inside an authorization: login, second factor, consent.

Each works on a parked interaction, bound to this browser by a cookie; its forms go through
`idp.http.guard` with the CSRF token derived from that cookie's secret. A gone interaction and
every other refusal are answered from the refusal itself (its status and words).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import partial, wraps

from starlette.requests import Request
from starlette.responses import Response

from idp.core import authn, interactions, policy, sessions
from idp.core.authn import LoginFailed
from idp.core.interactions import FactorNotOffered, InteractionGone, LoginOutcome, Parked, Step
from idp.core.limits import SendRefused, TooManyAttempts
from idp.core.otp import CodeRefused
from idp.core.params import Params
from idp.core.passkeys import PasskeyRefused
from idp.http import cookies, csrf, guard
from idp.http.offload import core, password_work, read, unit
from idp.http.peer import client_ip
from idp.http.render import error_page, field_errors, language, page, redirect


def _binding(request: Request, interaction_id: str) -> str | None:
    return request.cookies.get(cookies.interaction_name(request.app.state.provider.settings, interaction_id))


async def _step(request: Request, finished_ok: bool = False) -> Step:
    interaction_id = request.path_params["interaction_id"]
    return await core(
        interactions.load,
        request.app.state.provider,
        interaction_id,
        _binding(request, interaction_id),
        finished_ok=finished_ok,
    )


async def _bound_step(request: Request) -> guard.Bound[Step]:
    step = await _step(request)
    interaction_id = step.interaction.id
    return guard.Bound(_binding(request, interaction_id), csrf.for_interaction(interaction_id), step)


async def _repeatable_step(request: Request) -> guard.Bound[Step]:
    """Login and consent may be submitted again after they finished (a double click, a reload)."""
    step = await _step(request, finished_ok=True)
    interaction_id = step.interaction.id
    return guard.Bound(_binding(request, interaction_id), csrf.for_interaction(interaction_id), step)


async def _login_step(request: Request) -> guard.Bound[Step]:
    """The login form's interaction (finished ones too, as `_repeatable_step`), loaded by
    `offload.read`: the load only reads, and on SQLite the hop to a worker thread and back cost
    more than the read itself."""
    provider = request.app.state.provider
    interaction_id = request.path_params["interaction_id"]
    load = partial(interactions.load, finished_ok=True)
    step = await read(provider, load, provider, interaction_id, _binding(request, interaction_id))
    return guard.Bound(_binding(request, interaction_id), csrf.for_interaction(step.interaction.id), step)


def _parked(request: Request, parked: Parked, response: Response | None = None) -> Response:
    settings = request.app.state.provider.settings
    response = response or redirect(f"{request.app.state.provider.issuer}/interaction/{parked.interaction_id}")
    cookies.put(
        response,
        settings,
        cookies.interaction_name(settings, parked.interaction_id),
        parked.binding,
        settings.interaction_ttl,
    )
    return response


async def _way_on(request: Request) -> Response:
    """Instead of a dead end: back to the portal (an error, or a code as SSO answers), or a page
    that offers to start again."""
    provider = request.app.state.provider
    interaction_id = request.path_params["interaction_id"]
    session = await core(sessions.current, provider, request.cookies.get(cookies.session_name(provider.settings)))
    onward = await core(
        interactions.way_on, provider, interaction_id, _binding(request, interaction_id), session, client_ip(request)
    )
    if isinstance(onward, interactions.Redirect):
        return redirect(onward.url)
    if isinstance(onward, Parked):
        return _parked(request, onward)
    return error_page(request, "error.expired", 400)


def no_dead_end(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Every page of an interaction: a gone interaction never ends the journey."""

    @wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except InteractionGone:
            return await _way_on(request)

    return wrapped


def _csrf(request: Request, step: Step) -> str:
    return csrf.token(_binding(request, step.interaction.id) or "", csrf.for_interaction(step.interaction.id))


def _lang(request: Request, step: Step) -> str:
    return language(request, step.request.ui_locales if step.request else ())


async def _passkey_options(request: Request, step: Step) -> str:
    """The options the page's script hands `navigator.credentials.get`, as JSON in the page (the
    CSP allows no fetch): each login page shown holds a fresh challenge, bound to its interaction."""
    options = await core(interactions.passkey_options, request.app.state.provider, step)
    return json.dumps(options, separators=(",", ":"))


async def _login_page(
    request: Request, step: Step, status_code: int = 200, errors: dict[str, str] | None = None, identifier: str = ""
) -> Response:
    hint = step.request.login_hint if step.request else None
    return page(
        request,
        "login.html",
        _lang(request, step),
        status_code=status_code,
        step=step,
        csrf_token=_csrf(request, step),
        errors=errors or {},
        identifier=identifier or (hint or ""),
        passkey_options=await _passkey_options(request, step),
        passkey_first=interactions.passkey_first(step),
    )


async def _second_factor_page(
    request: Request,
    step: Step,
    method: str | None = None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    sent: bool = False,
) -> Response:
    provider = request.app.state.provider
    methods = await core(interactions.second_factor_methods, provider, step)
    chosen = method if method in methods else methods[0]
    return page(
        request,
        "second_factor.html",
        _lang(request, step),
        status_code=status_code,
        step=step,
        csrf_token=_csrf(request, step),
        methods=methods,
        method=chosen,
        errors=errors or {},
        sent=sent,
        passkey_options=await _passkey_options(request, step) if chosen == "passkey" else "",
    )


@no_dead_end
async def show(request: Request) -> Response:
    provider = request.app.state.provider
    step = await _step(request)
    if step.needs_login:
        return await _login_page(request, step)
    if step.needs_second_factor:
        return await _second_factor_page(request, step, request.query_params.get("method"))
    session = await core(sessions.current, provider, request.cookies.get(cookies.session_name(provider.settings)))
    citizen = await core(provider.store.citizens.get, session.citizen_id) if session else None
    assert step.request is not None
    return page(
        request,
        "consent.html",
        _lang(request, step),
        step=step,
        csrf_token=_csrf(request, step),
        citizen=citizen,
        scopes=list(step.request.scope),
    )


def _apply(request: Request, step: Step, outcome: LoginOutcome) -> Response:
    """The binding cookie stays until the interaction expires: Back after the portal was answered
    lands on the interaction again, which answers as SSO does."""
    provider = request.app.state.provider
    response: Response
    if outcome.redirect is not None:
        response = redirect(outcome.redirect.url)
    elif outcome.parked is not None:
        response = _parked(request, outcome.parked)
    else:
        response = redirect(f"{provider.issuer}/interaction/{step.interaction.id}")
    if outcome.cookie_value:
        cookies.put(
            response,
            provider.settings,
            cookies.session_name(provider.settings),
            outcome.cookie_value,
            provider.settings.session_max_ttl,
        )
    return response


@no_dead_end
@guard.form(_login_step)
async def login(request: Request, form: Params, step: Step) -> Response:
    """Submitted again after the login went through (a double click, Back then submit): the
    password is checked again and the same authorization continues."""
    provider = request.app.state.provider
    identifier, password = form.one("identifier") or "", form.one("password") or ""
    device = cookies.device_of(request)
    ip = client_ip(request)
    session_cookie = request.cookies.get(cookies.session_name(provider.settings))

    def after_hash(check: authn.PasswordCheck, matches: bool) -> tuple[interactions.LoginOutcome, str]:
        """The try's outcome, then (the password was right) the device, session, code and audit
        event: one database unit."""
        citizen = authn.finish_check(provider, check, matches, ip, authn.LOGIN)
        return interactions.after_password_login(provider, step, citizen, device, session_cookie, ip)

    try:
        # Only the hash holds a password slot; the lookup and reserved try before it and what
        # follows it are database units like any other (offload.unit: on the event loop, no thread
        # hops and GIL hand-offs for them).
        check = await unit(provider, partial(authn.begin_login, device=device), provider, identifier, password, ip)
        matches = await password_work(request, provider.passwords.verify, check.hash_to_verify, password[:1024])
        outcome, known = await unit(provider, after_hash, check, matches)
    except (LoginFailed, TooManyAttempts) as exc:
        # Which of the two was wrong is not said; the password is the field typed again.
        errors = field_errors(_lang(request, step), exc, "password")
        return await _login_page(request, step, exc.status_code, errors, identifier)
    if check.needs_rehash(provider) and check.citizen is not None:
        await password_work(request, authn.rehash, provider, check.citizen, password)
    response = _apply(request, step, outcome)
    cookies.put(response, provider.settings, cookies.device_name(provider.settings), known, policy.DEVICE_TTL)
    return response


@no_dead_end
@guard.form(_bound_step)
async def second_factor(request: Request, form: Params, step: Step) -> Response:
    provider = request.app.state.provider
    if not step.needs_second_factor:
        raise InteractionGone()
    method = form.one("method") or "totp"
    lang = _lang(request, step)
    if form.one("action") == "send":
        try:
            await core(interactions.send_login_code, provider, step, client_ip(request), lang)
        except (SendRefused, FactorNotOffered) as exc:
            return await _second_factor_page(request, step, "sms", exc.status_code, field_errors(lang, exc, "code"))
        return await _second_factor_page(request, step, "sms", sent=True)
    try:
        outcome = await core(
            interactions.after_second_factor,
            provider,
            step,
            method,
            form.one("code") or "",
            request.cookies.get(cookies.session_name(provider.settings)),
            client_ip(request),
        )
    except (CodeRefused, FactorNotOffered) as exc:
        return await _second_factor_page(request, step, method, exc.status_code, field_errors(lang, exc, "code"))
    return _apply(request, step, outcome)


@no_dead_end
@guard.form(_bound_step)
async def passkey(request: Request, form: Params, step: Step) -> Response:
    """The assertion the script posted in the form: passwordless on the login page, the second
    factor on its page. Refused: the same page again, the refusal at the passkey button."""
    provider = request.app.state.provider
    lang = _lang(request, step)
    try:
        outcome = await core(
            interactions.after_passkey,
            provider,
            step,
            form.one("credential") or "",
            request.cookies.get(cookies.session_name(provider.settings)),
            client_ip(request),
            lang,
        )
    except PasskeyRefused as exc:
        errors = field_errors(lang, exc, "passkey")
        if step.needs_second_factor:
            return await _second_factor_page(request, step, "passkey", exc.status_code, errors)
        return await _login_page(request, step, exc.status_code, errors)
    return _apply(request, step, outcome)


@no_dead_end
@guard.form(_repeatable_step)
async def consent(request: Request, form: Params, step: Step) -> Response:
    provider = request.app.state.provider
    session = await core(sessions.current, provider, request.cookies.get(cookies.session_name(provider.settings)))
    done = await core(
        interactions.decide_consent, provider, step, session, form.one("decision") == "allow", client_ip(request)
    )
    if isinstance(done, Parked):
        return _apply(request, step, LoginOutcome(parked=done))
    return _apply(request, step, LoginOutcome(redirect=done))
