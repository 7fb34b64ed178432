"""What the store hands out: plain frozen records, never table rows.

A record carries only what the core needs; password hashes travel separately and secret
digests are kept out of `repr`, so neither can reach a log line, JSON or a template by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idp.errors import IdpError


class Conflict(IdpError):
    """A uniqueness constraint refused the write; `field` names the column."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class CitizenRecord:
    id: str
    id_number: str  # the 12-digit citizen ID number (column `citizen.citizen_id`)
    full_name: str
    birth_date: str
    sex: str
    phone: str
    phone_verified: bool
    email: str | None
    email_verified: bool
    status: str
    level: str
    updated_at: int
    registry_checked_at: int | None = None  # the population registry matched the declaration


@dataclass(frozen=True)
class ClientRecord:
    id: str
    name: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    id_token_alg: str
    disabled: bool
    secret_digest: str | None = field(default=None, repr=False)
    subject_type: str = "pairwise"
    sector_id: str | None = None
    grant_types: frozenset[str] = frozenset({"authorization_code", "refresh_token"})
    min_level: str = "LoA1"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    backchannel_logout_uri: str | None = None
    require_par: bool = False
    require_dpop: bool = False
    profile: str = "standard"  # or "fapi2" (idp.core.fapi)

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    @property
    def sector(self) -> str:
        return self.sector_id or self.id


@dataclass(frozen=True)
class SessionRecord:
    id_digest: str = field(repr=False)
    sid: str
    citizen_id: str
    auth_time: int
    amr: tuple[str, ...]
    acr: str
    expires_at: int
    last_seen_at: int
    reauthenticated_at: int | None = None


@dataclass(frozen=True)
class InteractionRecord:
    id: str
    binding_digest: str = field(repr=False)
    client_id: str | None
    request: dict[str, Any]
    session_digest: str | None
    logged_in_at: int | None
    expires_at: int
    completed_at: int | None
    return_to: str | None = None
    pending_citizen_id: str | None = None
    pending_amr: tuple[str, ...] = ()


@dataclass(frozen=True)
class GrantRecord:
    id: str
    citizen_id: str
    client_id: str
    sid: str | None
    scope: str
    auth_time: int
    acr: str
    amr: tuple[str, ...]
    expires_at: int
    revoked_at: int | None
    dpop_jkt: str | None = None
    created_at: int = 0
    citizen_active: bool = True  # from a join: the account may still receive tokens


@dataclass(frozen=True)
class CodeRecord:
    grant_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    expires_at: int
    consumed_at: int | None
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class RefreshRecord:
    grant_id: str
    client_id: str
    scope: str
    expires_at: int
    consumed_at: int | None
    replaced_by: str | None = None
    grace_used: bool = False
