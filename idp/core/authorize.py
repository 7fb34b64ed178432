"""Validating an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).

Small checks, each named for what it checks, run in a visible order. The first two prove
the client and its redirect URI; until both pass, an error goes to a page. After them, an
error is sent back to the client's redirect URI with `state` (and `iss`, RFC 9207).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from idp.core.clients import require_known_client
from idp.core.id_token_hints import BadHint, read_hint
from idp.core.params import Params, RawParams
from idp.core.policy import LARGEST_MAX_AGE
from idp.core.provider import Provider
from idp.core.scopes import ACR_VALUES, SUPPORTED_SCOPES, parse_scope
from idp.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from idp.store.records import ClientRecord

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_MAX_LENGTH = {
    "state": 2048,
    "nonce": 512,
    "login_hint": 254,
    "ui_locales": 100,
    "acr_values": 200,
    "scope": 500,
    "max_age": 12,
}
_SINGLE = (
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "acr_values",
    "request",
    "request_uri",
    "dpop_jkt",
    "id_token_hint",
)
_JKT = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: tuple[str, ...]
    max_age: int | None
    login_hint: str | None
    ui_locales: tuple[str, ...]
    acr_values: tuple[str, ...]
    dpop_jkt: str | None = None  # RFC 9449 §10: the code will only be exchanged with a proof of this key
    id_token_hint_sub: str | None = None  # OIDC Core §3.1.2.1: the citizen (as this portal knows them) expected

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthorizationRequest:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fields)


def check_client(provider: Provider, params: Params) -> ClientRecord:
    return require_known_client(provider, params.one("client_id"))


def check_redirect_uri(client: ClientRecord, params: Params) -> str:
    """Exact string comparison with a registered URI (RFC 9700 §4.1.3): no prefix, no normalising."""
    redirect_uri = params.one("redirect_uri")
    if not redirect_uri:
        raise InvalidRequest("redirect_uri is required")
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequest("redirect_uri is not registered for this client", detail=redirect_uri)
    return redirect_uri


def check_single_values(params: Params) -> None:
    for name in _SINGLE:
        params.one(name)
    for name, limit in _MAX_LENGTH.items():
        value = params.one(name)
        if value is not None and len(value) > limit:
            raise InvalidRequest(f"{name} is too long")


def check_request_objects(params: Params) -> None:
    """Request objects are not supported; a `request_uri` is resolved (PAR) before validation."""
    if params.one("request") is not None:
        raise RequestNotSupported("request objects are not supported")
    if params.one("request_uri") is not None:
        raise RequestUriNotSupported("only request_uri values from the PAR endpoint are supported")


def check_dpop_jkt(params: Params) -> str | None:
    jkt = params.one("dpop_jkt")
    if jkt is not None and not _JKT.match(jkt):
        raise InvalidRequest("dpop_jkt is malformed")
    return jkt


def check_id_token_hint(provider: Provider, client: ClientRecord, params: Params) -> str | None:
    """OIDC Core §3.1.2.1: the `sub` of the citizen the portal expects, from an ID token we issued to
    this very portal (its `sub` is pairwise for it); an expired one is still a hint. Anything else
    is `invalid_request`, never silently ignored: ignoring it would log in whoever holds the session."""
    raw = params.one("id_token_hint")
    if not raw:
        return None
    try:
        hint = read_hint(provider, raw)
    except BadHint as exc:
        raise InvalidRequest("id_token_hint is not an ID token issued by this provider", detail=str(exc)) from None
    if hint.client.id != client.id:
        raise InvalidRequest("id_token_hint was issued to another client", detail=hint.client.id)
    return hint.sub


def check_par_required(client: ClientRecord, pushed: bool) -> None:
    if client.require_par and not pushed:
        raise InvalidRequest("this client must push its authorization requests (PAR)")


def check_response_type(params: Params) -> None:
    response_type = params.one("response_type")
    if not response_type:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    response_mode = params.one("response_mode")
    if response_mode not in (None, "query"):
        raise InvalidRequest("only response_mode=query is supported")


def check_scope(client: ClientRecord, params: Params) -> tuple[str, ...]:
    scope = parse_scope(params.one("scope") or "")
    if "openid" not in scope:
        raise InvalidScope("scope must include openid")
    unknown = [s for s in scope if s not in SUPPORTED_SCOPES]
    if unknown:
        raise InvalidScope(f"unknown scope {unknown[0]}")
    refused = [s for s in scope if s not in client.scopes]
    if refused:
        raise InvalidScope(f"scope {refused[0]} is not allowed for this client")
    return tuple(scope)


def check_pkce(params: Params) -> str:
    """RFC 9700 §2.1.1: PKCE for every client; only S256, since `plain` protects nothing."""
    challenge = params.one("code_challenge")
    method = params.one("code_challenge_method")
    if not challenge:
        raise InvalidRequest("code_challenge is required (PKCE with S256)")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge is malformed")
    return challenge


def check_prompt(params: Params) -> tuple[str, ...]:
    prompt = tuple(parse_scope(params.one("prompt") or ""))
    unknown = [p for p in prompt if p not in PROMPTS]
    if unknown:
        raise InvalidRequest(f"unsupported prompt value {unknown[0]}")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none must stand alone")
    return prompt


def check_max_age(params: Params) -> int | None:
    return params.number("max_age", maximum=LARGEST_MAX_AGE)


def check_client_may_authorize(client: ClientRecord) -> None:
    """A disabled client never gets this far (`check_client`); one registered only for
    client_credentials must not start a citizen's login (RFC 6749 §4.1.2.1 unauthorized_client)."""
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization code flow")


def validate(provider: Provider, raw: RawParams, pushed: bool = False) -> tuple[ClientRecord, AuthorizationRequest]:
    params = Params.of(raw)
    client = check_client(provider, params)
    redirect_uri = check_redirect_uri(client, params)
    try:
        state = params.one("state")
        if state is not None and len(state) > _MAX_LENGTH["state"]:
            raise InvalidRequest("state is too long")
    except InvalidRequest as exc:
        raise exc.redirect_to(redirect_uri, None) from None
    try:
        check_single_values(params)
        check_par_required(client, pushed)
        check_request_objects(params)
        check_response_type(params)
        check_client_may_authorize(client)
        scope = check_scope(client, params)
        challenge = check_pkce(params)
        prompt = check_prompt(params)
        max_age = check_max_age(params)
        dpop_jkt = check_dpop_jkt(params)
        hint_sub = check_id_token_hint(provider, client, params)
    except OAuthError as exc:
        raise exc.redirect_to(redirect_uri, state) from None
    return client, AuthorizationRequest(
        client_id=client.id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        nonce=params.one("nonce"),
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        login_hint=params.one("login_hint"),
        ui_locales=tuple((params.one("ui_locales") or "").split()),
        acr_values=tuple(v for v in (params.one("acr_values") or "").split() if v),
        dpop_jkt=dpop_jkt,
        id_token_hint_sub=hint_sub,
    )


def known_acr(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v for v in values if v in ACR_VALUES)
