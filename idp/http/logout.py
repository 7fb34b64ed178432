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
from idp.core.params import Params
from idp.http import cookies, csrf, guard
from idp.http.forms import parse_params
from idp.http.offload import core
from idp.http.render import language, page, redirect

_CARRIED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")


async def _session_cookie(request: Request) -> guard.Bound[str | None]:
    cookie_value = request.cookies.get(cookies.session_name(request.app.state.provider.settings))
    return guard.Bound(cookie_value, csrf.LOGOUT, cookie_value)


@guard.form(_session_cookie, only_when_sent=True)
async def logout(request: Request, form: Params, cookie_value: str | None) -> Response:
    provider = request.app.state.provider
    name = cookies.session_name(provider.settings)
    params = form if request.method == "POST" else parse_params(request.url.query)
    lang = language(request, tuple((params.one("ui_locales") or "").split()))
    carried = {k: params.one(k) for k in _CARRIED}
    confirming = request.method == "POST" and params.one("csrf_token") is not None
    session = await core(sessions.current, provider, cookie_value)
    hint = await core(core_logout.check_hint, provider, carried["id_token_hint"], carried["client_id"])
    target = core_logout.post_logout_target(hint, carried["post_logout_redirect_uri"], carried["state"])
    if session is not None and not confirming and not (hint and core_logout.hint_matches(provider, hint, session)):
        assert cookie_value is not None
        return page(
            request,
            "logout.html",
            lang,
            csrf_token=csrf.token(cookie_value, csrf.LOGOUT),
            carried={k: v for k, v in carried.items() if v},
        )
    if session is not None:
        await core(core_logout.end_session, provider, session)
    response = (
        redirect(target)
        if target
        else page(
            request,
            "message.html",
            lang,
            title_key="logout.title",
            message_key="logout.done",
            next_url=f"/account?lang={lang}",
            next_key="logout.log_in_again",
        )
    )
    cookies.drop(response, provider.settings, name)
    return response
