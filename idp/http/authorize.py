"""GET/POST /authorize: validate, then answer at once (SSO) or park and send to the pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import authorize as checks
from idp.core import interactions, par, sessions
from idp.http import cookies
from idp.http.forms import parse_params, read_form
from idp.http.offload import core
from idp.http.peer import client_ip
from idp.http.render import redirect


async def authorize(request: Request) -> Response:
    provider = request.app.state.provider
    if request.method == "POST":  # OIDC Core §3.1.2.1: GET and POST (form) are both allowed
        params = await read_form(request, provider.settings.max_body_bytes)
    else:
        params = parse_params(request.url.query)
    pushed = "request_uri" in params
    if pushed:
        params = await core(par.resolve, provider, params)
    client, auth_request = await core(checks.validate, provider, params, pushed)
    session = await core(sessions.current, provider, request.cookies.get(cookies.session_name(provider.settings)))
    outcome = await core(interactions.start, provider, client, auth_request, session, client_ip(request))
    if isinstance(outcome, interactions.Redirect):
        return redirect(outcome.url)
    response = redirect(f"{provider.issuer}/interaction/{outcome.interaction_id}")
    cookies.put(
        response,
        provider.settings,
        cookies.interaction_name(provider.settings, outcome.interaction_id),
        outcome.binding,
        provider.settings.interaction_ttl,
    )
    return response
