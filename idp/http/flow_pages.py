"""What every self-service flow page does first: find the flow's secret cookie, and check that a
posted form carries the CSRF token derived from it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.core import flows
from idp.crypto.opaque import equal
from idp.http import cookies
from idp.http.forms import Params, one, read_form
from idp.http.offload import core
from idp.http.render import error_page


def secret_of(request: Request, flow_id: str) -> str | None:
    return request.cookies.get(cookies.flow_name(request.app.state.provider.settings, flow_id))


async def live_secret(request: Request, kind: str) -> str | Response:
    """The secret of the live flow in the path, or the page saying it is gone."""
    flow_id = request.path_params["flow_id"]
    secret = secret_of(request, flow_id)
    try:
        await core(flows.load, request.app.state.provider, flow_id, secret, kind)
    except flows.FlowGone:
        return error_page(request, "error.expired", 400)
    assert secret is not None
    return secret


async def posted_form(request: Request) -> tuple[str, Params] | Response:
    """(secret, form) of a form posted to the flow in the path, or the CSRF refusal page."""
    form = await read_form(request, request.app.state.provider.settings.max_body_bytes)
    flow_id = request.path_params["flow_id"]
    secret = secret_of(request, flow_id)
    if secret is None or not equal(flows.csrf_token(secret, flow_id), one(form, "csrf_token") or ""):
        return error_page(request, "error.csrf", 403)
    return secret, form
