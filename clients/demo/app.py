"""The demo portal: a home page, a page that needs LoA2, a page that needs a passkey login, login
and logout through PostID."""

from __future__ import annotations

import html
import secrets

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from postid_client import (
    PASSKEY_METHODS,
    AsyncPostIDClient,
    AuthorizationDenied,
    InsufficientAssurance,
    PostIDError,
    ProviderUnavailable,
    UnmetAuthenticationMethods,
)
from postid_client.starlette_auth import PostIDAuth, PostIDUser, requires_amr, requires_level

from .settings import DemoSettings
from .words import explain

__all__ = ["create_app"]

TITLE = "Cổng dịch vụ công"
LEVEL_NAMES = {"LoA1": "Mức 1 (tự đăng ký)", "LoA2": "Mức 2 (đã xác minh trực tiếp)"}
METHOD_NAMES = {
    "pwd": "mật khẩu",
    "otp": "ứng dụng xác thực",
    "sms": "mã SMS",
    "mfa": "đa yếu tố",
    "hwk": "khóa truy cập trên thiết bị",
    "swk": "khóa truy cập đồng bộ",
    "user": "xác nhận trên thiết bị",
}


# The portal's look, served as a file of its own (no inline style, so a strict CSP would hold):
# a narrow readable column on a phone and a desktop, the state-service green of the provider.
STYLE = """
:root { --brand: #a3161a; --ink: #1b1f23; --muted: #5b6670; --line: #dde2df; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f4f4f2; }
header { background: var(--brand); color: #fff; padding: .9rem 1.25rem; }
header .title { margin: 0; font-size: 1.25rem; font-weight: 600; }
header .title a { color: #fff; text-decoration: none; }
header .tagline { margin: .1rem 0 0; font-size: .9rem; opacity: .9; }
main { max-width: 40rem; margin: 1.5rem auto; padding: 1.5rem; background: #fff; border-radius: .5rem;
       box-shadow: 0 1px 4px rgba(0,0,0,.12); overflow-wrap: break-word; }
h1, h2 { margin-top: 0; font-size: 1.4rem; }
a { color: #0b4f8a; }
.button, button { display: inline-block; margin: .5rem .5rem 0 0; padding: .6rem 1.2rem; border: 0;
                  border-radius: .3rem; background: var(--brand); color: #fff; font: inherit;
                  text-decoration: none; cursor: pointer; }
.button.secondary, button.secondary { background: #e7e9e8; color: var(--ink); }
dl { display: grid; grid-template-columns: minmax(7rem, max-content) minmax(0, 1fr); gap: .3rem 1rem; }
dt { font-weight: 600; grid-column: 1; }
dd { margin: 0; grid-column: 2; }
.reason { padding: .75rem 1rem; border-left: 4px solid var(--brand); background: #fbf1f1; }
details { margin-top: 1.25rem; color: var(--muted); font-size: .9rem; }
footer { max-width: 40rem; margin: 0 auto 2rem; padding: 0 1.5rem; color: var(--muted); font-size: .85rem; }
@media (max-width: 30rem) { main { margin: 0; border-radius: 0; } }
"""


async def stylesheet(request: Request) -> Response:
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})


def _page(body: str, status_code: int = 200, heading: str = TITLE) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(heading)} · {TITLE}</title><link rel="stylesheet" href="/demo.css"></head>'
        f'<body><header><p class="title"><a href="/">{TITLE}</a></p>'
        '<p class="tagline">Cổng thử nghiệm, đăng nhập bằng tài khoản định danh PostID</p></header>'
        f"<main>{body}</main>"
        "<footer>Đây là cổng dịch vụ mẫu để thử đăng nhập PostID; không dùng cho hồ sơ thật.</footer>"
        "</body></html>",
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


async def login_failed(request: Request, error: PostIDError) -> Response:
    """A failed login in words a citizen can act on: what happened, the provider's reason in
    Vietnamese, a way on; the codes folded away for whoever runs the portal."""
    sentence, reason = explain(error.code, error.error, error.error_description)
    codes = html.escape(" · ".join(c for c in (error.code, error.error) if c))
    detail = f"<br>{html.escape(error.error_description)}" if error.error_description else ""
    body = (
        "<h1>Đăng nhập không thành công</h1>"
        f'<p id="message">{html.escape(sentence)}</p>'
        + (f'<p class="reason" id="reason">{html.escape(reason)}</p>' if reason else "")
        + '<p><a class="button" href="/">Về trang chủ</a>'
        + f'<a class="button secondary" href="{html.escape(_retry_url(error))}">Đăng nhập lại</a></p>'
        f'<details><summary>Chi tiết kỹ thuật (cho người quản lý cổng)</summary><p><code id="code">{codes}</code>'
        f"{detail}</p></details>"
    )
    return _page(body, _status_for(error), heading="Đăng nhập không thành công")


def _retry_url(error: PostIDError) -> str:
    """A page refused for the way the citizen logged in offers a fresh login back to that page."""
    if isinstance(error, UnmetAuthenticationMethods) and error.retry_url:
        return error.retry_url
    return "/login"


def _status_for(error: PostIDError) -> int:
    if isinstance(error, (AuthorizationDenied, InsufficientAssurance, UnmetAuthenticationMethods)):
        return 403
    return 503 if isinstance(error, ProviderUnavailable) else 400


def _logout_form() -> str:
    return '<form method="post" action="/logout"><button type="submit" class="secondary">Đăng xuất</button></form>'


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
            "<h1>Dịch vụ công trực tuyến</h1><p>Đăng nhập để sử dụng dịch vụ công trực tuyến.</p>"
            '<p><a class="button" id="login" href="/login">Đăng nhập bằng PostID</a></p>'
        )
    return _page(
        "<h1>Dịch vụ công trực tuyến</h1>"
        + _citizen_card(user)
        + '<p><a id="loa2" href="/ho-so-muc-2">Hồ sơ yêu cầu mức 2 (LoA2)</a></p>'
        + '<p><a id="passkey-page" href="/khoa-truy-cap">Hồ sơ chỉ mở bằng khóa truy cập (passkey)</a></p>'
        + _logout_form()
    )


@requires_level("LoA2")
async def level_two_page(request: Request) -> HTMLResponse:
    user: PostIDUser = request.state.user
    return _page(
        "<h1>Hồ sơ yêu cầu xác thực mức 2</h1>"
        + _citizen_card(user)
        + '<p id="loa2-ok">Bạn đã xác thực ở mức 2 và có thể nộp hồ sơ.</p>'
        + '<p><a href="/">Trang chủ</a></p>'
        + _logout_form()
    )


@requires_amr(any_of=PASSKEY_METHODS)
async def passkey_page(request: Request) -> HTMLResponse:
    """Phishing-resistant: only a passkey login opens it, whatever the level."""
    user: PostIDUser = request.state.user
    return _page(
        "<h1>Hồ sơ chỉ mở bằng khóa truy cập</h1>"
        + _citizen_card(user)
        + '<p id="passkey-ok">Bạn đã đăng nhập bằng khóa truy cập (passkey).</p>'
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
        error_handler=login_failed,
    )
    routes = [
        Route("/", home),
        Route("/ho-so-muc-2", level_two_page),
        Route("/khoa-truy-cap", passkey_page),
        Route("/demo.css", stylesheet),
        *auth.routes,
    ]
    return Starlette(routes=routes, middleware=[auth.middleware])
