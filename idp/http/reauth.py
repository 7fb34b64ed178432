"""The account pages that prove it is still the citizen: re-authentication and the password change.

`/account/reauth` asks for the password again (and, on an account with an authenticator app, the
app's code or a recovery code), or a passkey instead, and sends the citizen back to the page that asked; `next` is one
of our own account pages, never a URL from the request. `/account/password` changes the password;
it needs a recent authentication like every change to how the account is protected.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from idp.core import password_change, reauth
from idp.core.authn import LoginFailed
from idp.core.limits import TooManyAttempts
from idp.core.otp import CodeRefused
from idp.core.passkeys import PasskeyRefused
from idp.errors import ValidationError
from idp.http import cookies
from idp.http.account import Visit, account_form, recent
from idp.http.offload import core, password_work
from idp.http.peer import client_ip
from idp.http.render import field_errors, redirect
from idp.i18n import t

# Where a re-authentication may send the citizen back to: the pages that hold sensitive forms.
RETURN_PAGES = ("/account", "/account/password")


def _errors(
    visit: Visit, exc: LoginFailed | TooManyAttempts | CodeRefused | ValidationError, password: str, new: str = ""
) -> dict[str, str]:
    """The refusal at its field: a wrong code at the code, a rule of the new password at the new
    password, the rest at the password typed. A signed-in citizen typed only a password here: say
    that, not the login form's "ID or password"."""
    wrong = t(visit.lang, "password.wrong") if isinstance(exc, LoginFailed) else None
    on = "code" if isinstance(exc, CodeRefused) else password
    return field_errors(visit.lang, exc, on, {"password": new} if new else None, message=wrong)


def _next(visit: Visit) -> str:
    wanted = visit.form.one("next") if visit.request.method == "POST" else visit.request.query_params.get("next")
    return wanted if wanted in RETURN_PAGES else "/account"


async def _reauth_page(visit: Visit, status_code: int = 200, errors: dict[str, str] | None = None) -> Response:
    provider = visit.request.app.state.provider
    assert visit.citizen is not None
    needs_code = await core(reauth.needs_second_factor, provider, visit.citizen.id)
    options = await core(reauth.passkey_options, provider, visit.session)
    return await visit.render(
        status_code,
        template="reauth.html",
        next_page=_next(visit),
        needs_code=needs_code,
        errors=errors or {},
        passkey_options=json.dumps(options, separators=(",", ":")) if options else "",
    )


@account_form
async def reauthenticate(visit: Visit) -> Response:
    if visit.request.method != "POST":
        return await _reauth_page(visit)
    provider = visit.request.app.state.provider
    try:
        await password_work(
            visit.request,
            reauth.reauthenticate,
            provider,
            visit.session,
            visit.form.one("password") or "",
            visit.form.one("code") or "",
            client_ip(visit.request),
            device=cookies.device_of(visit.request),
        )
    except (LoginFailed, TooManyAttempts, CodeRefused) as exc:
        return await _reauth_page(visit, exc.status_code, _errors(visit, exc, "password"))
    return redirect(f"{provider.issuer}{_next(visit)}?lang={visit.lang}")


@account_form
async def reauthenticate_with_passkey(visit: Visit) -> Response:
    """The assertion the page's script posted; refused, the same page with the refusal at its button."""
    provider = visit.request.app.state.provider
    try:
        await core(
            reauth.reauthenticate_with_passkey,
            provider,
            visit.session,
            visit.form.one("credential") or "",
            client_ip(visit.request),
            visit.lang,
        )
    except PasskeyRefused as exc:
        return await _reauth_page(visit, exc.status_code, field_errors(visit.lang, exc, "passkey"))
    return redirect(f"{provider.issuer}{_next(visit)}?lang={visit.lang}")


@account_form
@recent("/account/password")
async def change_password(visit: Visit) -> Response:
    if visit.request.method != "POST":
        return await visit.render(template="password_change.html")
    try:
        await password_work(
            visit.request,
            password_change.change_password,
            visit.request.app.state.provider,
            visit.session,
            visit.form.one("current_password") or "",
            visit.form.one("new_password") or "",
            client_ip=client_ip(visit.request),
            lang=visit.lang,
            device=cookies.device_of(visit.request),
        )
    except (LoginFailed, TooManyAttempts, ValidationError) as exc:
        return await visit.render(
            exc.status_code,
            template="password_change.html",
            errors=_errors(visit, exc, "current-password", new="new-password"),
        )
    return await visit.render(notice=t(visit.lang, "password.changed"))
