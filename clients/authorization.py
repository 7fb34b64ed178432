"""Starting a login: the authorization URL and the secrets the portal keeps until the callback."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ._jose import b64url_encode
from .defaults import ASSURANCE_LEVELS
from .errors import ConfigurationError
from .levels import minimum_level

__all__ = ["LoginRequest", "new_login_request", "pkce_challenge"]

Entropy = Callable[[int], bytes]
"""Returns n random bytes; `secrets.token_bytes` unless a test injects its own."""


def _random_token(entropy: Entropy, size: int = 32) -> str:
    return b64url_encode(entropy(size))


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class LoginRequest:
    """What the portal stores in the browser's session between redirect and callback.

    `to_dict()` / `from_dict()` make it JSON-safe for any session store. The three secrets are
    never sent to the browser except as the state, nonce and challenge inside `url`.
    """

    url: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: float
    scope: str = "openid"
    required_acr: str | None = None
    max_age: int | None = None
    dpop_key: dict[str, Any] | None = None  # private JWK binding the code (RFC 9449 §10): server-side only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoginRequest:
        try:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
        except TypeError as exc:
            raise ConfigurationError(f"stored login request is incomplete: {exc}") from None


def _join_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def _space_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return value.split() if isinstance(value, str) else [str(item) for item in value]


def new_login_request(
    *,
    authorization_endpoint: str,
    client_id: str,
    redirect_uri: str,
    now: float,
    entropy: Entropy = secrets.token_bytes,
    scope: str | Sequence[str] = "openid",
    acr_values: str | Sequence[str] | None = None,
    required_acr: str | None = None,
    levels: Sequence[str] = ASSURANCE_LEVELS,
    max_age: int | None = None,
    prompt: str | Sequence[str] | None = None,
    login_hint: str | None = None,
    ui_locales: str | Sequence[str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> LoginRequest:
    """Build the code-flow URL with PKCE S256, a fresh `state` and `nonce`.

    The level the ID token must reach is the higher of the portal-wide `required_acr` and the
    lowest of `acr_values` (the portal accepts any level it listed)."""
    scopes = _space_list(scope)
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    acr_list = _space_list(acr_values)
    asked = minimum_level(acr_list, levels)
    floor = max(
        (level for level in (asked, required_acr) if level is not None),
        key=levels.index,
        default=None,
    )
    if required_acr is not None and required_acr not in levels:
        raise ConfigurationError(f"unknown assurance level {required_acr!r}")
    if floor is not None and not acr_list:
        acr_list = [floor]
    if max_age is not None and (not isinstance(max_age, int) or max_age < 0):
        raise ConfigurationError("max_age must be a non-negative number of seconds")

    state = _random_token(entropy)
    nonce = _random_token(entropy)
    verifier = _random_token(entropy, 48)  # 64 characters, within RFC 7636's 43..128
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if acr_list:
        params["acr_values"] = " ".join(acr_list)
    if max_age is not None:
        params["max_age"] = str(max_age)
    if prompt:
        params["prompt"] = " ".join(_space_list(prompt))
    if login_hint:
        params["login_hint"] = login_hint
    if ui_locales:
        params["ui_locales"] = " ".join(_space_list(ui_locales))
    for name, value in (extra or {}).items():
        if name in params:
            raise ConfigurationError(f"extra parameter {name!r} would override a protocol parameter")
        params[name] = value
    return LoginRequest(
        url=_join_query(authorization_endpoint, params),
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        created_at=now,
        scope=params["scope"],
        required_acr=floor,
        max_age=max_age,
    )
