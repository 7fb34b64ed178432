"""GET/POST /logout: the end_session_endpoint (OIDC RP-Initiated Logout 1.0).

With a valid `id_token_hint` for the current session the citizen is logged out at once and sent
to the portal's registered `post_logout_redirect_uri` (exact match) with `state`. Without a hint,
or with a wrong one, a confirmation page asks first (a link elsewhere cannot log anyone out),
and the browser is never redirected on the strength of an unproven request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import logout as core_logout
from idp.core import sessions
from idp.crypto.opaque import derive, equal
from idp.http import cookies
from idp.http.forms import one, parse_params, read_form
from idp.http.offload import core
from idp.http.render import error_page, language, page, redirect

_CARRIED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")


def _token(cookie_value: str) -> str:
    return derive(cookie_value, "logout")


async def logout(request: Request) -> Response:
    provider = request.app.state.provider
    name = cookies.session_name(provider.settings)
    cookie_value = request.cookies.get(name)
    if request.method == "POST":
        params = await read_form(request, provider.settings.max_body_bytes)
    else:
        params = parse_params(request.url.query)
    lang = language(request, tuple((one(params, "ui_locales") or "").split()))
    carried = {k: one(params, k) for k in _CARRIED}
    confirming = request.method == "POST" and one(params, "csrf_token") is not None
    if confirming and not (cookie_value and equal(_token(cookie_value), one(params, "csrf_token") or "")):
        return error_page(request, "error.csrf", 403)
    session = await core(sessions.current, provider, cookie_value)
    hint = await core(core_logout.check_hint, provider, carried["id_token_hint"], carried["client_id"])
    target = core_logout.post_logout_target(hint, carried["post_logout_redirect_uri"], carried["state"])
    if session is not None and not confirming and not (hint and core_logout.hint_matches(provider, hint, session)):
        assert cookie_value is not None
        return page(
            request,
            "logout.html",
            lang,
            csrf_token=_token(cookie_value),
            carried={k: v for k, v in carried.items() if v},
        )
    if session is not None:
        await core(core_logout.end_session, provider, session)
    response = (
        redirect(target)
        if target
        else page(request, "message.html", lang, title_key="logout.title", message_key="logout.done")
    )
    cookies.drop(response, provider.settings, name)
    return response
