"""What every self-service flow page (registration code, password reset) starts from: the flow's
secret cookie, which proves this browser started the flow and binds the forms' CSRF token."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from idp.core import flows, policy
from idp.http import cookies, csrf
from idp.http.guard import Bound
from idp.http.offload import core

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def return_to_interaction(raw: str | None) -> str | None:
    """The portal login a flow was started from (`?ix=`): only back into an interaction of ours,
    never an open redirect."""
    return f"/interaction/{raw}" if raw and _TOKEN.match(raw) else None


def keep_flow(request: Request, response: Response, started: flows.StartedFlow) -> Response:
    """Give the browser that started a flow its secret cookie, for as long as the flow lives."""
    settings = request.app.state.provider.settings
    cookies.put(response, settings, cookies.flow_name(settings, started.flow_id), started.secret, policy.FLOW_TTL)
    return response


def secret_of(request: Request, flow_id: str) -> str | None:
    return request.cookies.get(cookies.flow_name(request.app.state.provider.settings, flow_id))


def csrf_token(secret: str, flow_id: str) -> str:
    return csrf.token(secret, csrf.for_flow(flow_id))


async def live_secret(request: Request, kind: str) -> str:
    """The secret of the live flow in the path (`FlowGone` when it is not)."""
    flow_id = request.path_params["flow_id"]
    secret = secret_of(request, flow_id)
    await core(flows.load, request.app.state.provider, flow_id, secret, kind)
    assert secret is not None
    return secret


async def flow_secret(request: Request) -> Bound[str | None]:
    """The guard's gate for a form posted to the flow in the path: the core checks the flow itself
    when the handler calls it, so a missing secret is only a failed CSRF check here."""
    flow_id = request.path_params["flow_id"]
    secret = secret_of(request, flow_id)
    return Bound(secret, csrf.for_flow(flow_id), secret)
