"""`/authorize`: the real provider's checks in its order, then an auto-approved login instead of
the login and consent pages. Errors go to the portal's callback (with `state` and `iss`) only once
the client and its exact redirect URI are proven; before that, the browser gets a page, so the mock
can never be made to redirect anywhere a portal did not register.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ..defaults import ASSURANCE_LEVELS
from .citizens import LOGIN_METHODS, Citizen, passkey_level
from .messages import MockRequest, MockResponse, OAuthFailure, add_query, base_path
from .policy import CODE_LIFETIME, GRANT_LIFETIME, SCOPES
from .records import Code, Grant, RegisteredClient, Session

if TYPE_CHECKING:
    from .provider import MockProvider

__all__ = ["authorize", "check_authorization"]

_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_PROMPTS = ("none", "login", "consent", "select_account")


def check_authorization(client: RegisteredClient, query: Mapping[str, str]) -> tuple[str, ...]:
    """The real provider's checks, in its order; the granted scopes. `/par` runs them too, so a
    pushed request fails when pushed rather than when the browser arrives."""
    if query.get("response_type") != "code":
        raise OAuthFailure("unsupported_response_type", "only the code flow is supported")
    if query.get("response_mode", "query") != "query":
        raise OAuthFailure("invalid_request", "only response_mode=query is supported")
    scopes = tuple(dict.fromkeys(query.get("scope", "").split()))
    if "openid" not in scopes:
        raise OAuthFailure("invalid_scope", "scope must include openid")
    if unknown := [scope for scope in scopes if scope not in SCOPES]:
        raise OAuthFailure("invalid_scope", f"unknown scope {unknown[0]}")
    if refused := [scope for scope in scopes if scope not in client.scopes]:
        raise OAuthFailure("invalid_scope", f"scope {refused[0]} is not allowed for this client")
    if not query.get("code_challenge"):
        raise OAuthFailure("invalid_request", "code_challenge is required (PKCE with S256)")
    if query.get("code_challenge_method") != "S256":
        raise OAuthFailure("invalid_request", "code_challenge_method must be S256")
    if any(level not in ASSURANCE_LEVELS for level in query.get("acr_values", "").split()):
        raise OAuthFailure("invalid_request", "unknown acr_values")
    prompt = query.get("prompt", "").split()
    if unknown := [value for value in prompt if value not in _PROMPTS]:
        raise OAuthFailure("invalid_request", f"unsupported prompt value {unknown[0]}")
    if "none" in prompt and len(prompt) > 1:
        raise OAuthFailure("invalid_request", "prompt=none must stand alone")
    jkt = query.get("dpop_jkt")
    if jkt is not None and (len(jkt) != 43 or not set(jkt) <= _B64URL):
        raise OAuthFailure("invalid_request", "dpop_jkt is malformed")
    return scopes


def authorize(provider: MockProvider, request: MockRequest) -> MockResponse:
    ledger = provider._ledger
    query: Mapping[str, str] = request.query
    pushed = False
    if "request_uri" in query:
        found = ledger.pushed.pop(query["request_uri"], None)  # one use, even when it then fails
        if found is None or found.client_id != query.get("client_id") or provider.clock() > found.expires_at:
            return MockResponse.page(
                "Lỗi: request_uri", "<p>invalid_request_uri: unknown, expired or already used</p>", 400
            )
        chosen = {k: v for k, v in query.items() if k in ("mock_citizen", "mock_method")}
        query, pushed = {**found.params, **chosen}, True
    client = provider.clients.get(query.get("client_id", ""))
    if client is None:
        return MockResponse.page("Lỗi: ứng dụng không xác định", "<p>unknown client_id</p>", 400)
    redirect_uri = query.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:  # exact string match, never redirect elsewhere
        return MockResponse.page("Lỗi: redirect_uri", "<p>redirect_uri is not registered</p>", 400)
    state = query.get("state")

    def fail(error: str, description: str) -> MockResponse:
        params = {"error": error, "error_description": description, "iss": provider.issuer}
        if state is not None:
            params["state"] = state
        return MockResponse.redirect(add_query(redirect_uri, params))

    if client.require_par and not pushed:
        return fail("invalid_request", "this client must push its authorization requests (PAR)")
    try:
        scopes = check_authorization(client, query)
    except OAuthFailure as failure:
        return fail(failure.error, failure.description)
    injected = provider._injected
    if injected is not None and injected.error is not None:
        return fail(injected.error, injected.description or "injected by the mock provider")
    citizen = _chosen_citizen(provider, query)
    if citizen is None:
        if "none" in query.get("prompt", "").split():
            return fail("login_required", "no citizen is logged in")
        return _chooser(provider, query)
    method = query.get("mock_method") or provider.auto_login_method
    if method is not None and method not in LOGIN_METHODS:
        return MockResponse.page(
            "Lỗi: mock_method", f"<p>unknown mock_method; one of {', '.join(LOGIN_METHODS)}</p>", 400
        )
    requested = query.get("acr_values", "").split()
    floor = min(requested, key=ASSURANCE_LEVELS.index) if requested else ASSURANCE_LEVELS[0]
    if ASSURANCE_LEVELS.index(citizen.acr) < ASSURANCE_LEVELS.index(floor):
        return fail("unmet_authentication_requirements", f"the account cannot reach {floor}")
    if method is not None:  # two factors in one: the account's own level, as on the real provider
        amr, acr = LOGIN_METHODS[method], passkey_level(citizen.acr)
    else:
        amr, acr = (citizen.amr if floor == citizen.acr else ("pwd",)), floor
    now = provider.clock()
    grant = Grant(
        id=secrets.token_urlsafe(16),
        client_id=client.client_id,
        citizen=citizen,
        scopes=scopes,
        acr=acr,
        amr=amr,
        auth_time=int(now),
        sid=_session_for(provider, citizen).sid,
        expires_at=now + GRANT_LIFETIME,
    )
    ledger.grants[grant.id] = grant
    code = secrets.token_urlsafe(32)
    ledger.codes[code] = Code(
        grant=grant,
        redirect_uri=redirect_uri,
        code_challenge=query["code_challenge"],
        expires_at=now + CODE_LIFETIME,
        nonce=query.get("nonce"),
        dpop_jkt=query.get("dpop_jkt"),
    )
    params = {"code": code, "iss": provider.issuer}
    if state is not None:
        params["state"] = state
    return MockResponse.redirect(add_query(redirect_uri, params))


def _session_for(provider: MockProvider, citizen: Citizen) -> Session:
    """One browser session per citizen, as one browser with single sign-on: every portal's
    login shares its `sid` until the citizen logs out."""
    sessions = provider._ledger.sessions
    session = sessions.get(citizen.sub)
    if session is None or session.ended:
        session = sessions[citizen.sub] = Session(secrets.token_urlsafe(16), citizen.sub)
    return session


def _chosen_citizen(provider: MockProvider, query: Mapping[str, str]) -> Citizen | None:
    for candidate in (query.get("mock_citizen"), provider.auto_login, query.get("login_hint")):
        if candidate and candidate in provider.citizens:
            return provider.citizens[candidate]
    return None


def _chooser(provider: MockProvider, query: Mapping[str, str]) -> MockResponse:
    """With nobody logged in, a page of the test citizens, each a link back to `/authorize`: what a
    person clicking through the portal in a browser sees instead of the login form."""

    def link(sub: str, method: str | None = None) -> str:
        chosen = {"mock_citizen": sub, **({"mock_method": method} if method else {})}
        return html.escape(base_path(provider.issuer) + "/authorize?" + urlencode({**query, **chosen}))

    items = "".join(
        f'<li><a href="{link(sub)}">'
        f"{html.escape(citizen.name)}</a> ({html.escape(citizen.acr)}, {html.escape(' '.join(citizen.amr))})"
        f' · <a href="{link(sub, "passkey")}">khóa truy cập / passkey</a>'
        f" ({html.escape(passkey_level(citizen.acr))}, {' '.join(LOGIN_METHODS['passkey'])})</li>"
        for sub, citizen in provider.citizens.items()
    )
    return MockResponse.page("PostID (giả lập) – chọn công dân", f"<ul>{items}</ul>")
