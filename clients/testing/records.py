"""What the mock remembers, in memory where the real provider has tables: registered portals, and
the ledger of sessions, grants, codes, refresh tokens and pushed requests that the endpoints issue
and consume. One `Ledger` per provider, guarded by its lock, so single use holds across threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .citizens import DEFAULT_CLIENT_SCOPES, Citizen

__all__ = ["Code", "Delivery", "Grant", "Ledger", "Pending", "Pushed", "Refresh", "RegisteredClient", "Session"]


@dataclass
class RegisteredClient:
    client_id: str
    redirect_uris: tuple[str, ...]
    auth_method: str = "client_secret_basic"
    client_secret: str | None = None
    jwks: Mapping[str, Any] | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    scopes: tuple[str, ...] = DEFAULT_CLIENT_SCOPES
    require_par: bool = False
    require_dpop: bool = False

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"


@dataclass(frozen=True)
class Delivery:
    """One back-channel logout token POSTed to a portal: `status` is its answer (None when it could
    not be reached, `error` then says why)."""

    client_id: str
    uri: str
    logout_token: str
    status: int | None
    error: str | None = None


@dataclass
class Session:
    sid: str
    sub: str
    ended: bool = False


@dataclass
class Grant:
    """One citizen's authorization of one portal, in one session: what codes, refresh and access
    tokens hang off, and what revocation and logout end."""

    id: str
    client_id: str
    citizen: Citizen
    scopes: tuple[str, ...]
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    sid: str
    expires_at: float
    revoked: bool = False
    dpop_jkt: str | None = None  # a public client's refresh tokens stay bound to its DPoP key


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    code_challenge: str
    expires_at: float
    nonce: str | None = None
    dpop_jkt: str | None = None


@dataclass
class Refresh:
    grant: Grant
    scope: str
    used_at: float | None = None
    replaced_by: str | None = None
    grace_used: bool = False

    @property
    def used(self) -> bool:
        return self.used_at is not None


@dataclass
class Pushed:
    client_id: str
    params: dict[str, str]
    expires_at: float


@dataclass
class Pending:
    """Back-channel logout tokens to send once the provider's lock is released (the portal may call
    back, for the JWKS, while it reads one)."""

    items: list[tuple[RegisteredClient, str]] = field(default_factory=list)


@dataclass
class Ledger:
    """Everything issued and not yet forgotten, keyed as the endpoints look it up: sessions by the
    citizen's `sub` (one browser), codes, refresh tokens and request URIs by their value, and the
    `jti`s already spent (revoked access tokens, client assertions, DPoP proofs)."""

    sessions: dict[str, Session] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, Refresh] = field(default_factory=dict)
    pushed: dict[str, Pushed] = field(default_factory=dict)
    revoked_access: set[str] = field(default_factory=set)
    used_assertions: set[str] = field(default_factory=set)
    used_proofs: set[str] = field(default_factory=set)
    pending: Pending = field(default_factory=Pending)
