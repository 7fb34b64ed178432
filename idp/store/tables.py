"""The tables. Rows never leave the store: repositories return plain records instead, so a
password hash or secret digest cannot reach JSON or a template by accident.

Times are integer seconds since the epoch (UTC), read from the injected clock.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, Column, LargeBinary, Row, Table, Text, UniqueConstraint, inspect
from sqlmodel import Field, SQLModel

# Named constraints, so later migrations (and SQLite's batch mode) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _epoch(nullable: bool = False, index: bool = False) -> Any:
    # Any, as sqlmodel's Field is: the value stands in for the attribute's declared type.
    return Field(default=None if nullable else ..., sa_column=Column(BigInteger, nullable=nullable, index=index))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model. Repositories write Core statements; SQLModel declares no
    `__table__` to the type checker, while the mapper's `local_table` is the same object."""
    return cast(Table, inspect(model).local_table)


# A result row of any width: the record builders read its columns by name.
AnyRow = Row[*tuple[Any, ...]]


class Citizen(SQLModel, table=True):
    __tablename__ = "citizen"

    id: str = Field(primary_key=True, max_length=36)
    # The 12-digit ID number, `id_number` in every record and in the code. The column keeps its first
    # name: a rename would break processes still running the old code during a rollout.
    citizen_id: str = Field(max_length=12, unique=True)
    full_name: str = Field(max_length=200)
    birth_date: str = Field(max_length=10)  # ISO date; compared as text
    sex: str = Field(max_length=6)
    phone: str = Field(max_length=16, unique=True)  # E.164
    phone_verified: bool = False
    email: str | None = Field(default=None, max_length=254)
    email_verified: bool = False
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # pending | active | locked
    level: str = Field(max_length=8)  # LoA1 | LoA2
    created_at: int = _epoch()
    updated_at: int = _epoch()
    # When the population registry confirmed the declared number, name, birth date and sex (None:
    # never, or it could not answer). Still a declaration: only the counter verifies (LoA2).
    registry_checked_at: int | None = _epoch(nullable=True)


class Client(SQLModel, table=True):
    __tablename__ = "client"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    secret_digest: str | None = Field(default=None, max_length=64)
    auth_method: str = Field(max_length=32)
    redirect_uris: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    post_logout_redirect_uris: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    scopes: str = Field(max_length=500)  # space-separated
    id_token_alg: str = Field(max_length=8)
    disabled: bool = False
    created_at: int = _epoch()
    # pairwise (default: a `sub` of its own per portal) or public (one `sub` for portals of one organisation)
    subject_type: str = Field(default="pairwise", max_length=8, sa_column_kwargs={"server_default": "pairwise"})
    sector_id: str | None = Field(default=None, max_length=64)  # pairwise sector; None means the client id
    grant_types: str = Field(
        default="authorization_code refresh_token",
        max_length=200,
        sa_column_kwargs={"server_default": "authorization_code refresh_token"},
    )
    min_level: str = Field(default="LoA1", max_length=8, sa_column_kwargs={"server_default": "LoA1"})
    jwks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # for private_key_jwt
    jwks_uri: str | None = Field(default=None, max_length=500)
    backchannel_logout_uri: str | None = Field(default=None, max_length=500)
    require_par: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    require_dpop: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # standard, or fapi2: the FAPI 2.0 Security Profile's per-client rules (idp/core/fapi.py)
    profile: str = Field(default="standard", max_length=16, sa_column_kwargs={"server_default": "standard"})


class BrowserSession(SQLModel, table=True):
    __tablename__ = "browser_session"

    id_digest: str = Field(primary_key=True, max_length=64)
    sid: str = Field(max_length=64, unique=True)  # public session id for the `sid` claim
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36, index=True)
    auth_time: int = _epoch()
    amr: str = Field(max_length=100)  # JSON list
    acr: str = Field(max_length=8)
    created_at: int = _epoch()
    last_seen_at: int = _epoch()
    expires_at: int = _epoch()
    ended_at: int | None = _epoch(nullable=True)
    # The password (and second factor) typed again on this session: sensitive changes need it recent.
    reauthenticated_at: int | None = _epoch(nullable=True)


class Interaction(SQLModel, table=True):
    """An authorization request (or an account-page login) parked while the citizen logs in and consents."""

    __tablename__ = "interaction"

    id: str = Field(primary_key=True, max_length=64)
    binding_digest: str = Field(max_length=64)
    client_id: str | None = Field(default=None, foreign_key="client.id", max_length=64)
    request: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the validated request
    return_to: str | None = Field(default=None, max_length=200)  # account-page logins: where to go after
    session_digest: str | None = Field(default=None, max_length=64)
    # Password proven, second factor still owed: who, and what was used so far.
    pending_citizen_id: str | None = Field(default=None, max_length=36)
    pending_amr: str | None = Field(default=None, max_length=100)
    logged_in_at: int | None = _epoch(nullable=True)
    created_at: int = _epoch()
    expires_at: int = _epoch(index=True)
    completed_at: int | None = _epoch(nullable=True)


class Consent(SQLModel, table=True):
    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("citizen_id", "client_id", name="uq_consent_citizen_client"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36)
    client_id: str = Field(foreign_key="client.id", max_length=64)
    scopes: str = Field(max_length=500)
    created_at: int = _epoch()
    updated_at: int = _epoch()


class Grant(SQLModel, table=True):
    """One login's permission for one client: every code, access and refresh token hangs off it,
    so revoking the grant ends them all."""

    __tablename__ = "auth_grant"

    id: str = Field(primary_key=True, max_length=64)
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36, index=True)
    client_id: str = Field(foreign_key="client.id", max_length=64, index=True)
    sid: str | None = Field(default=None, max_length=64)
    scope: str = Field(max_length=500)
    auth_time: int = _epoch()
    acr: str = Field(max_length=8)
    amr: str = Field(max_length=100)
    created_at: int = _epoch()
    expires_at: int = _epoch()
    revoked_at: int | None = _epoch(nullable=True)
    dpop_jkt: str | None = Field(default=None, max_length=64)  # tokens of this grant are bound to this key


class AuthorizationCode(SQLModel, table=True):
    __tablename__ = "authorization_code"

    code_digest: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(foreign_key="auth_grant.id", max_length=64)
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(sa_column=Column(Text, nullable=False))
    code_challenge: str = Field(max_length=128)
    nonce: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    dpop_jkt: str | None = Field(default=None, max_length=64)  # RFC 9449 §10: bound at /authorize
    created_at: int = _epoch()
    expires_at: int = _epoch(index=True)
    consumed_at: int | None = _epoch(nullable=True)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    token_digest: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(foreign_key="auth_grant.id", max_length=64, index=True)
    client_id: str = Field(max_length=64)
    scope: str = Field(max_length=500)
    created_at: int = _epoch()
    expires_at: int = _epoch()
    consumed_at: int | None = _epoch(nullable=True)
    # Rotation: the successor's digest, and whether the one retry inside the grace window was spent.
    replaced_by: str | None = Field(default=None, max_length=64)
    grace_used: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class RevokedToken(SQLModel, table=True):
    """Access tokens are JWTs; revoking one before it expires records its `jti` until then."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: int = _epoch(index=True)


class Flow(SQLModel, table=True):
    """A multi-step self-service flow (registration, password reset, phone change), bound to the
    browser or app that started it by a secret whose digest is kept here."""

    __tablename__ = "flow"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    binding_digest: str = Field(max_length=64)
    citizen_id: str | None = Field(default=None, max_length=36)
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    created_at: int = _epoch()
    expires_at: int = _epoch(index=True)
    completed_at: int | None = _epoch(nullable=True)


class OtpChallenge(SQLModel, table=True):
    """A one-time code sent by SMS or email: only its keyed digest is kept, with its tries."""

    __tablename__ = "otp_challenge"

    id: str = Field(primary_key=True, max_length=64)
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36, index=True)
    purpose: str = Field(max_length=16)
    channel: str = Field(max_length=8)
    destination: str = Field(max_length=254)
    flow_id: str = Field(max_length=64, index=True)
    code_digest: str = Field(max_length=64)
    attempts: int = 0
    created_at: int = _epoch()
    expires_at: int = _epoch()
    consumed_at: int | None = _epoch(nullable=True)


class TotpFactor(SQLModel, table=True):
    __tablename__ = "totp_factor"

    citizen_id: str = Field(foreign_key="citizen.id", primary_key=True, max_length=36)
    secret_sealed: str = Field(sa_column=Column(Text, nullable=False))
    created_at: int = _epoch()
    confirmed_at: int | None = _epoch(nullable=True)
    last_step: int | None = _epoch(nullable=True)


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"

    code_digest: str = Field(primary_key=True, max_length=64)
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36, index=True)
    created_at: int = _epoch()
    used_at: int | None = _epoch(nullable=True)


class Passkey(SQLModel, table=True):
    """A citizen's WebAuthn credential: the public key only (the private key never leaves the
    authenticator), its counter, and what the citizen calls it."""

    __tablename__ = "passkey"

    credential_id: str = Field(primary_key=True, max_length=1400)  # base64url, at most 1023 bytes
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36, index=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # COSE
    sign_count: int = Field(sa_column=Column(BigInteger, nullable=False))
    transports: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    aaguid: str = Field(max_length=36)
    backed_up: bool = False  # synced by a platform (software-held) rather than bound to one device
    name: str = Field(max_length=64)
    created_at: int = _epoch()
    last_used_at: int | None = _epoch(nullable=True)


class StaffPasskey(SQLModel, table=True):
    """A staff member's WebAuthn credential for the console: the same columns as a citizen's
    `passkey`, in a table of its own, since staff and citizens never share an account table."""

    __tablename__ = "staff_passkey"

    credential_id: str = Field(primary_key=True, max_length=1400)  # base64url, at most 1023 bytes
    staff_id: str = Field(foreign_key="staff_user.id", max_length=36, index=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # COSE
    sign_count: int = Field(sa_column=Column(BigInteger, nullable=False))
    transports: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    aaguid: str = Field(max_length=36)
    backed_up: bool = False
    name: str = Field(max_length=64)
    created_at: int = _epoch()
    last_used_at: int | None = _epoch(nullable=True)


class AuthFailure(SQLModel, table=True):
    """Consecutive failures per account and kind (password, code): delays, then a lock."""

    __tablename__ = "auth_failure"

    citizen_id: str = Field(foreign_key="citizen.id", primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=16)
    consecutive: int = 0
    blocked_until: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    locked: bool = False
    updated_at: int = _epoch()


class RateCounter(SQLModel, table=True):
    """A fixed-window counter (sends per phone per day, failures per IP...), shared by every process."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=200)
    window_ends_at: int = _epoch(index=True)
    count: int = 0


class KnownDevice(SQLModel, table=True):
    """A browser that once logged in to an account (OWASP device cookies): its cookie's digest, per
    subject (`citizen:<id>` or `staff:<username>`), so one browser can be known to several accounts."""

    __tablename__ = "known_device"

    subject: str = Field(primary_key=True, max_length=100)
    cookie_digest: str = Field(primary_key=True, max_length=64)
    created_at: int = _epoch()
    last_used_at: int = _epoch(index=True)


class AttemptBudget(SQLModel, table=True):
    """Consecutive failures under one key (a known device's password tries, a flow's code tries):
    growing delays, then a lock, like `AuthFailure` but for keys that are not an account."""

    __tablename__ = "attempt_budget"

    key: str = Field(primary_key=True, max_length=200)
    consecutive: int = 0
    blocked_until: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    locked: bool = False
    expires_at: int = _epoch(index=True)


class UsedJti(SQLModel, table=True):
    """`jti`s that must never be accepted twice (client assertions, DPoP proofs), kept until they expire."""

    __tablename__ = "used_jti"

    key: str = Field(primary_key=True, max_length=200)  # "<kind>:<issuer of the jti>:<jti>"
    expires_at: int = _epoch(index=True)


class PushedRequest(SQLModel, table=True):
    """RFC 9126: an authorization request pushed by a client, used once within 60 s by its request_uri."""

    __tablename__ = "pushed_request"

    uri_digest: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(foreign_key="client.id", max_length=64)
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the pushed parameters
    created_at: int = _epoch()
    expires_at: int = _epoch(index=True)
    consumed_at: int | None = _epoch(nullable=True)
