"""The demo portal: a home page, a page that needs LoA2, login and logout through PostID."""

from __future__ import annotations

import html
import secrets

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from postid_client import AsyncPostIDClient
from postid_client.starlette_auth import PostIDAuth, PostIDUser, requires_level

from .settings import DemoSettings

__all__ = ["create_app"]

TITLE = "Cổng dịch vụ công"
LEVEL_NAMES = {"LoA1": "Mức 1 (tự đăng ký)", "LoA2": "Mức 2 (đã xác minh trực tiếp)"}
METHOD_NAMES = {"pwd": "mật khẩu", "otp": "ứng dụng xác thực", "sms": "mã SMS", "mfa": "đa yếu tố"}


def _page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{TITLE}</title></head>'
        f"<body><header><h1>{TITLE}</h1></header><main>{body}</main></body></html>",
        status_code=status_code,
    )


def _logout_form() -> str:
    return '<form method="post" action="/logout"><button type="submit">Đăng xuất</button></form>'


def _citizen_card(user: PostIDUser) -> str:
    level = LEVEL_NAMES.get(user.acr or "", user.acr or "không rõ")
    methods = ", ".join(METHOD_NAMES.get(method, method) for method in user.amr) or "không rõ"
    return (
        f'<p>Xin chào, <strong id="name">{html.escape(user.name or user.sub)}</strong></p>'
        f'<dl><dt>Mức xác thực (acr)</dt><dd id="acr">{html.escape(user.acr or "")}</dd>'
        f"<dd>{html.escape(level)}</dd>"
        f'<dt>Phương thức (amr)</dt><dd id="amr">{html.escape(" ".join(user.amr))}</dd>'
        f"<dd>{html.escape(methods)}</dd></dl>"
    )


async def home(request: Request) -> HTMLResponse:
    user: PostIDUser | None = request.state.user
    if user is None:
        return _page(
            "<p>Đăng nhập để sử dụng dịch vụ công trực tuyến.</p>"
            '<p><a id="login" href="/login">Đăng nhập bằng PostID</a></p>'
        )
    return _page(
        _citizen_card(user) + '<p><a id="loa2" href="/ho-so-muc-2">Hồ sơ yêu cầu mức 2 (LoA2)</a></p>' + _logout_form()
    )


@requires_level("LoA2")
async def level_two_page(request: Request) -> HTMLResponse:
    user: PostIDUser = request.state.user
    return _page(
        "<h2>Hồ sơ yêu cầu xác thực mức 2</h2>"
        + _citizen_card(user)
        + '<p id="loa2-ok">Bạn đã xác thực ở mức 2 và có thể nộp hồ sơ.</p>'
        + '<p><a href="/">Trang chủ</a></p>'
        + _logout_form()
    )


def create_app(settings: DemoSettings | None = None, *, http_client: httpx.AsyncClient | None = None) -> Starlette:
    """`http_client` lets tests point the portal at `postid_client.testing.MockProvider().transport()`."""
    settings = settings or DemoSettings.from_env()
    client = AsyncPostIDClient(
        settings.issuer,
        settings.client_id,
        client_secret=settings.client_secret,
        redirect_uri=settings.redirect_uri,
        http_client=http_client,
    )
    auth = PostIDAuth(
        client,
        session_secret=settings.session_secret or secrets.token_urlsafe(32),
        scope="openid profile",
    )
    routes = [Route("/", home), Route("/ho-so-muc-2", level_two_page), *auth.routes]
    return Starlette(routes=routes, middleware=[auth.middleware])
