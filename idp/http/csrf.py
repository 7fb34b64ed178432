"""CSRF tokens for forms that exist before any session or flow (registration, reset).

A random value in an HttpOnly cookie; the form carries a token derived from it. A cross-site
page can neither read the cookie nor compute the token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.crypto.opaque import derive, equal, new_token
from idp.http import cookies

PURPOSE = "form-csrf"


def cookie_name(request: Request) -> str:
    return cookies.name(request.app.state.provider.settings, "idp_csrf")


def token_for(request: Request) -> tuple[str, str | None]:
    """(form token, new cookie value or None when the browser already has one)."""
    existing = request.cookies.get(cookie_name(request))
    if existing and 20 <= len(existing) <= 100:
        return derive(existing, PURPOSE), None
    value = new_token(request.app.state.provider.rng, 32)
    return derive(value, PURPOSE), value


def remember(request: Request, response: Response, new_value: str | None) -> Response:
    if new_value:
        cookies.put(response, request.app.state.provider.settings, cookie_name(request), new_value, None)
    return response


def valid(request: Request, submitted: str | None) -> bool:
    existing = request.cookies.get(cookie_name(request))
    return bool(existing and submitted) and equal(derive(existing or "", PURPOSE), submitted or "")
