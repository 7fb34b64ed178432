"""The citizen's account page: identity, level, authenticator app, recovery codes, phone, connected
services, logout.

Without a session it starts a login through the same pages a portal login uses. Every form on the
page goes through `account_form`: the form guard (`idp.http.guard`) bound to the citizen's session.
Forms that change how the account is protected are also `recent`: a session whose login (or last
re-authentication) is older than `reauth_minutes` is sent to `/account/reauth` first.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from idp.core import factors, interactions, passkeys, reauth, self_service, sessions
from idp.core.authn import LoginFailed
from idp.core.identity import phone_for_display
from idp.core.limits import SendRefused, TooManyAttempts
from idp.core.otp import CodeRefused
from idp.core.params import Params
from idp.errors import ValidationError
from idp.http import cookies, csrf, guard
from idp.http.flow_pages import keep_flow
from idp.http.offload import core, password_work
from idp.http.peer import client_ip
from idp.http.render import error_page, field_errors, language, page, redirect
from idp.i18n import t, words
from idp.store.records import CitizenRecord, SessionRecord


@dataclass(frozen=True)
class Visit:
    """A logged-in citizen on their account page (and the form they posted, if any)."""

    request: Request
    session: SessionRecord
    cookie_value: str
    form: Params
    citizen: CitizenRecord | None = None

    @property
    def lang(self) -> str:
        return language(self.request)

    async def render(self, status_code: int = 200, template: str = "account.html", **extra: object) -> Response:
        provider = self.request.app.state.provider
        view = await core(self_service.overview, provider, self.session.citizen_id)
        if view is None:
            return error_page(self.request, "error.expired", 400)
        return page(
            self.request,
            template,
            self.lang,
            status_code=status_code,
            view=view,
            session=self.session,
            phone=phone_for_display(view.citizen.phone),
            csrf_token=csrf.token(self.cookie_value, csrf.ACCOUNT),
            **extra,
        )


async def _session(request: Request) -> tuple[SessionRecord, str] | None:
    provider = request.app.state.provider
    cookie_value = request.cookies.get(cookies.session_name(provider.settings))
    session = await core(sessions.current, provider, cookie_value)
    return (session, cookie_value) if session and cookie_value else None


async def show(request: Request) -> Response:
    provider = request.app.state.provider
    found = await _session(request)
    if found is None:
        parked = await core(interactions.start_account_login, provider, "/account", client_ip(request))
        response = redirect(f"{provider.issuer}/interaction/{parked.interaction_id}")
        cookies.put(
            response,
            provider.settings,
            cookies.interaction_name(provider.settings, parked.interaction_id),
            parked.binding,
            provider.settings.interaction_ttl,
        )
        return response
    return await Visit(request, *found, form=Params()).render()


async def _bound_session(request: Request) -> guard.Bound[tuple[SessionRecord, str]] | Response:
    """The guard's gate: without a live session, back to the account page (which logs in)."""
    found = await _session(request)
    if found is None:
        return redirect(f"{request.app.state.provider.issuer}/account")
    return guard.Bound(found[1], csrf.ACCOUNT, found)


def account_form(handler: Callable[[Visit], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A form posted on the account page: a live session and the CSRF token derived from it."""

    @guard.form(_bound_session)
    @wraps(handler)
    async def endpoint(request: Request, form: Params, found: tuple[SessionRecord, str]) -> Response:
        session, cookie_value = found
        citizen = await core(request.app.state.provider.store.citizens.get, session.citizen_id)
        return await handler(Visit(request, session, cookie_value, form, citizen))

    return endpoint


VisitHandler = Callable[[Visit], Awaitable[Response]]


def recent(back_to: str) -> Callable[[VisitHandler], VisitHandler]:
    """A change that needs a recent authentication: a stale session re-authenticates first, then
    comes back to `back_to` (a form cannot be replayed after the detour, so the page that holds it)."""

    def wrap(handler: VisitHandler) -> VisitHandler:
        @wraps(handler)
        async def checked(visit: Visit) -> Response:
            provider = visit.request.app.state.provider
            if not reauth.is_recent(provider, visit.session):
                return redirect(f"{provider.issuer}/account/reauth?{urlencode({'next': back_to, 'lang': visit.lang})}")
            return await handler(visit)

        return checked

    return wrap


@account_form
@recent("/account")
async def totp_begin(visit: Visit) -> Response:
    try:
        enrolment = await core(factors.begin_totp, visit.request.app.state.provider, visit.citizen)
    except factors.AlreadyEnrolled as exc:
        return await visit.render(exc.status_code, notice=words(visit.lang, exc))
    return await visit.render(template="totp_enrol.html", enrolment=enrolment)


@account_form
@recent("/account")
async def totp_confirm(visit: Visit) -> Response:
    provider, citizen = visit.request.app.state.provider, visit.citizen
    assert citizen is not None
    try:
        codes = await core(factors.confirm_totp, provider, citizen.id, visit.form.one("code") or "")
        if codes is None:
            raise CodeRefused("totp")
    except CodeRefused as exc:
        enrolment = await core(self_service.pending_enrolment, provider, citizen)
        if enrolment is None:
            return await visit.render()
        return await visit.render(
            exc.status_code,
            template="totp_enrol.html",
            enrolment=enrolment,
            errors=field_errors(visit.lang, exc, "code"),
        )
    return await visit.render(template="recovery_codes.html", codes=codes, now=provider.clock.now())


@account_form
@recent("/account")
async def recovery_codes(visit: Visit) -> Response:
    assert visit.citizen is not None
    provider = visit.request.app.state.provider
    codes = await core(factors.new_recovery_codes, provider, visit.citizen.id)
    return await visit.render(template="recovery_codes.html", codes=codes, now=provider.clock.now())


@account_form
@recent("/account")
async def passkey_begin(visit: Visit) -> Response:
    """The name typed, the page that creates the passkey: its options (the challenge bound to this
    session) are in the page for the script, since the CSP allows no fetch."""
    provider = visit.request.app.state.provider
    assert visit.citizen is not None
    try:
        name = passkeys.clean_name(visit.form.one("name") or "")
        options = await core(passkeys.begin_enrolment, provider, visit.session, visit.citizen)
    except (passkeys.TooManyPasskeys, passkeys.PasskeyNameInvalid) as exc:
        return await visit.render(exc.status_code, errors=field_errors(visit.lang, exc, "passkey-name"))
    return await visit.render(
        template="passkey_enrol.html", passkey_name=name, passkey_options=json.dumps(options, separators=(",", ":"))
    )


@account_form
@recent("/account")
async def passkey_enrol(visit: Visit) -> Response:
    provider = visit.request.app.state.provider
    assert visit.citizen is not None
    try:
        enrolled = await core(
            passkeys.finish_enrolment,
            provider,
            visit.session,
            visit.citizen,
            visit.form.one("name") or "",
            visit.form.one("credential") or "",
            visit.lang,
        )
    except (passkeys.PasskeyRefused, passkeys.PasskeyNameInvalid) as exc:
        return await visit.render(exc.status_code, errors=field_errors(visit.lang, exc, "passkey-name"))
    if enrolled.recovery_codes:
        return await visit.render(
            template="recovery_codes.html",
            codes=enrolled.recovery_codes,
            now=provider.clock.now(),
            notice=t(visit.lang, "passkey.added"),
        )
    return await visit.render(notice=t(visit.lang, "passkey.added"))


@account_form
@recent("/account")
async def passkey_rename(visit: Visit) -> Response:
    provider = visit.request.app.state.provider
    assert visit.citizen is not None
    credential_id = visit.form.one("credential_id") or ""
    try:
        renamed = await core(passkeys.rename, provider, visit.citizen, credential_id, visit.form.one("name") or "")
    except passkeys.PasskeyNameInvalid as exc:
        return await visit.render(exc.status_code, errors=field_errors(visit.lang, exc, f"rename-{credential_id}"))
    return await visit.render(notice=t(visit.lang, "passkey.renamed" if renamed else "passkey.gone"))


@account_form
@recent("/account")
async def passkey_remove(visit: Visit) -> Response:
    """The last strong factor is removed only by the confirmation page's own submit (`confirm=yes`);
    asking first says what the account falls back to."""
    provider = visit.request.app.state.provider
    assert visit.citizen is not None
    credential_id = visit.form.one("credential_id") or ""
    try:
        await core(
            passkeys.remove,
            provider,
            visit.citizen,
            credential_id,
            visit.lang,
            confirmed=visit.form.one("confirm") == "yes",
        )
    except passkeys.LastStrongFactor:
        keys = await core(passkeys.listed, provider, visit.citizen.id)
        key = next((p for p in keys if p.credential_id == credential_id), None)
        return await visit.render(template="passkey_remove_confirm.html", passkey=key)
    return await visit.render(notice=t(visit.lang, "passkey.removed"))


@account_form
@recent("/account")
async def phone_begin(visit: Visit) -> Response:
    provider = visit.request.app.state.provider
    try:
        started = await password_work(
            visit.request,
            self_service.start_phone_change,
            provider,
            visit.citizen,
            visit.form.one("password") or "",
            visit.form.one("phone") or "",
            client_ip=client_ip(visit.request),
            lang=visit.lang,
            device=cookies.device_of(visit.request),
        )
    except (LoginFailed, TooManyAttempts) as exc:
        # A signed-in citizen typed only a password here: say that, not the login form's words.
        wrong = t(visit.lang, "password.wrong") if isinstance(exc, LoginFailed) else None
        return await visit.render(
            exc.status_code, errors=field_errors(visit.lang, exc, "current-password", message=wrong)
        )
    except (ValidationError, SendRefused) as exc:
        return await visit.render(exc.status_code, errors=_phone_errors(visit.lang, exc))
    response = await visit.render(template="phone_verify.html", flow_id=started.flow_id)
    return keep_flow(visit.request, response, started)


@account_form
async def phone_confirm(visit: Visit) -> Response:
    provider = visit.request.app.state.provider
    flow_id = visit.form.one("flow_id") or ""
    secret = visit.request.cookies.get(cookies.flow_name(provider.settings, flow_id))
    try:
        await core(
            self_service.finish_phone_change,
            provider,
            visit.citizen,
            flow_id,
            secret,
            visit.form.one("code") or "",
            visit.lang,
        )
    except CodeRefused as exc:
        return await visit.render(
            exc.status_code, template="phone_verify.html", flow_id=flow_id, errors=field_errors(visit.lang, exc, "code")
        )
    except ValidationError as exc:
        return await visit.render(exc.status_code, errors=_phone_errors(visit.lang, exc))
    response = await visit.render(notice=t(visit.lang, "phone.changed"))
    cookies.drop(response, provider.settings, cookies.flow_name(provider.settings, flow_id))
    return response


def _phone_errors(lang: str, exc: ValidationError | SendRefused) -> dict[str, str]:
    return field_errors(lang, exc, "new-phone", {"phone": "new-phone", "password": "current-password"})


@account_form
async def withdraw(visit: Visit) -> Response:
    """Withdrawing is asked first (a GET, or a post without `confirm`: the page that says what the
    portal loses), and done only by the confirmation's own submit."""
    provider = visit.request.app.state.provider
    assert visit.citizen is not None
    posting = visit.request.method == "POST"
    client_id = (visit.form.one("client_id") if posting else visit.request.query_params.get("client_id")) or ""
    if posting and visit.form.one("confirm") == "yes":
        await core(self_service.withdraw, provider, visit.citizen.id, client_id)
        return await visit.render(notice=t(visit.lang, "connected.withdrawn"))
    services = await core(self_service.connected_services, provider, visit.citizen.id)
    service = next((s for s in services if s.client_id == client_id), None)
    if service is None:  # nothing to withdraw (already withdrawn, say): the account page shows what is left
        return redirect(f"{provider.issuer}/account?lang={visit.lang}")
    return await visit.render(template="withdraw_confirm.html", service=service)
