"""Checks on the redirect back to the portal, in the order that keeps each one meaningful:
`state` (is this our login?), `iss` (from the provider we sent it to?), `error`, then `code`."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from .authorization import LoginRequest
from .errors import AuthorizationDenied, CallbackError, IssuerMismatch, StateMismatch
from .metadata import ProviderMetadata

__all__ = ["CallbackParams", "authorization_code_from_callback", "parse_callback"]

CallbackParams = Mapping[str, str]


def parse_callback(callback: str | Mapping[str, str]) -> dict[str, str]:
    """Accept the query parameters as a mapping, or the full callback URL / query string.

    A parameter given twice is refused: RFC 6749 §3.1 forbids repeats, and picking one would let
    an attacker choose which `state` we check."""
    if isinstance(callback, Mapping):
        return {str(key): str(value) for key, value in callback.items()}
    query = urlsplit(callback).query if "?" in callback or "://" in callback else callback
    pairs = parse_qsl(query, keep_blank_values=True)
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise CallbackError(f"parameter {name} repeated in the callback", code="repeated_parameter")
        params[name] = value
    return params


def check_state(params: CallbackParams, login: LoginRequest) -> None:
    received = params.get("state")
    if not received or not hmac.compare_digest(received.encode(), login.state.encode()):
        raise StateMismatch("callback state does not match this browser's login")


def check_iss(params: CallbackParams, metadata: ProviderMetadata, *, required: bool = False) -> None:
    """RFC 9207 §2.4: a present `iss` must equal the issuer; a missing one is refused when the
    provider announced it always sends it, or when the portal requires it (FAPI 2.0 §5.3.3)."""
    received = params.get("iss")
    if received is None:
        if required or metadata.authorization_response_iss_parameter_supported:
            raise IssuerMismatch("callback lacks iss although the provider always sends it")
        return
    if received != metadata.issuer:
        raise IssuerMismatch(f"callback iss {received!r} is not {metadata.issuer!r}")


def check_error(params: CallbackParams) -> None:
    error = params.get("error")
    if error is not None:
        raise AuthorizationDenied(
            f"the provider refused the login: {error}",
            error=error,
            error_description=params.get("error_description"),
        )


def authorization_code_from_callback(
    params: CallbackParams,
    login: LoginRequest,
    metadata: ProviderMetadata,
    *,
    now: float,
    lifetime: float,
    require_iss: bool = False,
) -> str:
    check_state(params, login)
    if now - login.created_at > lifetime:
        raise CallbackError("the login took too long; start again", code="login_expired")
    check_iss(params, metadata, required=require_iss)
    check_error(params)
    code = params.get("code")
    if not code:
        raise CallbackError("callback has neither code nor error", code="missing_code")
    return code
