"""GET/POST /logout: the citizen ends their browser session here.

A GET only shows a confirmation form, so a link or image elsewhere cannot log anyone out;
the POST carries a CSRF token bound to the session cookie.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import sessions
from idp.crypto.opaque import derive, equal
from idp.http import cookies
from idp.http._run import core
from idp.http.forms import one, read_form
from idp.http.render import error_page, language, page


def _token(cookie_value: str) -> str:
    return derive(cookie_value, "logout")


async def logout(request: Request) -> Response:
    provider = request.app.state.provider
    name = cookies.session_name(provider.settings)
    cookie_value = request.cookies.get(name)
    lang = language(request)
    if request.method == "GET":
        session = await core(sessions.current, provider, cookie_value)
        if session is None or cookie_value is None:
            return page(request, "message.html", lang, title_key="logout.title", message_key="logout.done")
        return page(request, "logout.html", lang, csrf_token=_token(cookie_value))
    form = await read_form(request, provider.settings.max_body_bytes)
    if cookie_value is not None:
        submitted = one(form, "csrf_token") or ""
        if not equal(_token(cookie_value), submitted):
            return error_page(request, "error.csrf", 403)
        await core(sessions.end, provider, cookie_value)
    response = page(request, "message.html", lang, title_key="logout.title", message_key="logout.done")
    cookies.drop(response, provider.settings, name)
    return response
