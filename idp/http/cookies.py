"""Cookie names and attributes in one place.

With an https issuer every cookie is `__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`
and scoped to `/`. Plain http is allowed only for a loopback issuer (development), where
browsers and HTTP clients would drop `Secure` cookies, so the prefix and flag are left off.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.settings import Settings


def name(settings: Settings, base: str) -> str:
    return f"__Host-{base}" if settings.secure_cookies else base


def session_name(settings: Settings) -> str:
    return name(settings, "idp_session")


def interaction_name(settings: Settings, interaction_id: str) -> str:
    return name(settings, f"idp_ix_{interaction_id[:16]}")


def flow_name(settings: Settings, flow_id: str) -> str:
    return name(settings, f"idp_flow_{flow_id[:16]}")


def device_of(request: Request) -> str | None:
    """The browser's device cookie, if it sent one: a known browser spends its own password budget."""
    return request.cookies.get(device_name(request.app.state.provider.settings))


def device_name(settings: Settings) -> str:
    """The device cookie (`idp.core.devices`): one per browser, shared by the citizen pages and the console."""
    return name(settings, "idp_device")


def put(response: Response, settings: Settings, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )


def drop(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(name, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax")
