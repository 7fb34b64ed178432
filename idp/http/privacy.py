"""The privacy notice every page's footer links to, when the operator has none of its own
(`IDP_PRIVACY_URL`): what this provider keeps, why, who sees it and for how long, said from what the
code does, so it cannot promise what the provider does not do."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.http.render import language, page


async def show(request: Request) -> Response:
    settings = request.app.state.provider.settings
    return page(request, "privacy.html", language(request), audit_days=settings.audit_retention_days)
