"""One guard for every HTML form: who may post it, that it came from our page, and the form itself.

A page names what its forms need with a `Gate`: the secret their CSRF token derives from (the
citizen's session, an interaction's binding, a flow's secret, the form cookie; the console wraps
this with its staff session) and whatever state the handler works on. The guard reads the form
within the size limit (a malformed body is refused before anything else is looked up), asks the
gate (turned away: the gate's answer), checks the token, and only then runs the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from idp.core.params import Params
from idp.http import csrf
from idp.http.forms import read_form
from idp.http.render import error_page

T = TypeVar("T")


@dataclass(frozen=True)
class Bound(Generic[T]):
    """What a form is bound to: the secret its CSRF token derives from, for one purpose, and the
    state the handler works on."""

    secret: str | None
    purpose: str
    state: T


Gate = Callable[[Request], Awaitable["Bound[Any] | Response"]]
Handler = Callable[[Request, Params, Any], Awaitable[Response]]
Refused = Callable[[Request, Any], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def csrf_refused(request: Request, state: object) -> Response:
    return error_page(request, "error.csrf", 403)


def form(
    gate: Gate, *, refused: Refused = csrf_refused, only_when_sent: bool = False, gate_first: bool = False
) -> Callable[[Handler], Endpoint]:
    """Wrap `handler(request, form, state)`. A GET carries no form and no token; a POST must carry
    the token, unless `only_when_sent` (logout: a relying party may POST without one, and only a
    confirmation the citizen clicked carries it). `gate_first` asks the gate before the body is
    read (the console sends an anonymous caller to its login page whatever it posted)."""

    def wrap(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            posting = request.method == "POST"
            bound = await gate(request) if gate_first else None
            if isinstance(bound, Response):
                return bound
            posted = Params()
            if posting:
                posted = await read_form(request, request.app.state.provider.settings.max_body_bytes)
            if bound is None:
                bound = await gate(request)
                if isinstance(bound, Response):
                    return bound
            if posting:
                submitted = posted.one("csrf_token")
                checked = submitted is not None or not only_when_sent
                if checked and not csrf.matches(bound.secret, bound.purpose, submitted):
                    return refused(request, bound.state)
            return await handler(request, posted, bound.state)

        return endpoint

    return wrap


async def form_cookie(request: Request) -> Bound[None]:
    """Forms that exist before any session or flow: bound to the plain form cookie."""
    return Bound(csrf.form_secret(request), csrf.FORM, None)
