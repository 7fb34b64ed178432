"""Every CSRF token the provider issues or checks, derived here and nowhere else.

A form carries a token derived from a secret the browser holds in an HttpOnly cookie (the citizen
or staff session, an interaction's or a flow's binding, or the plain form cookie of the pages that
exist before any of those) for one purpose, so a token lifted from one form opens no other. A
cross-site page can neither read the cookie nor compute the token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.crypto.opaque import derive, equal, new_token
from idp.http import cookies

ACCOUNT = "account"
LOGOUT = "logout"
STAFF = "staff-csrf"
FORM = "form-csrf"


def for_interaction(interaction_id: str) -> str:
    return "csrf:" + interaction_id


def for_flow(flow_id: str) -> str:
    return "flow-csrf:" + flow_id


def token(secret: str, purpose: str) -> str:
    return derive(secret, purpose)


def matches(secret: str | None, purpose: str, submitted: str | None) -> bool:
    return bool(secret and submitted) and equal(token(secret or "", purpose), submitted or "")


# -- the form cookie: forms that exist before any session or flow (registration, reset, staff login)


def cookie_name(request: Request) -> str:
    return cookies.name(request.app.state.provider.settings, "idp_csrf")


def form_secret(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def token_for(request: Request) -> tuple[str, str | None]:
    """(form token, new cookie value or None when the browser already has one)."""
    existing = form_secret(request)
    if existing and 20 <= len(existing) <= 100:
        return token(existing, FORM), None
    value = new_token(request.app.state.provider.rng, 32)
    return token(value, FORM), value


def remember(request: Request, response: Response, new_value: str | None) -> Response:
    if new_value:
        cookies.put(response, request.app.state.provider.settings, cookie_name(request), new_value, None)
    return response
