"""Staff: accounts with roles, login with password *and* TOTP, short sessions, and the one table
that says which role may do what.

Every console page and API call names a permission from `PERMISSIONS`; `require` is the only
check. Staff failures are counted per folded username (`fold_username`: case and surrounding
spaces never make another counter), known or not, and per known device (`idp.core.devices`): the
member's own browser keeps its own budget, so strangers' failures cannot lock the member out.
Each try is reserved before the hash is checked. Every login attempt is audited.

The second factor is the TOTP code or a passkey (`idp.core.staff_passkeys`): a right password with
no code is parked (`PasskeyStep`) for the passkey page, its reserved try kept until the passkey
answers. With `IDP_STAFF_REQUIRE_PASSKEY` a right code no longer opens the console: it opens only
the page that adds a first passkey, and only for a member who has none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from idp.core import audit, devices, staff_passkeys
from idp.core.password_policy import check_new_password
from idp.core.policy import STAFF_FAILURE_WINDOW, STAFF_FAILURES_PER_USERNAME
from idp.core.provider import Provider
from idp.core.tokens import verify_access_token
from idp.crypto.opaque import digest, new_token
from idp.crypto.totp import new_totp_secret, provisioning_uri, verify_totp
from idp.errors import IdpError, InvalidToken, Refusal, ValidationError
from idp.store.records import Conflict
from idp.store.staff import StaffRecord, StaffSessionRecord

ROLES = ("admin", "supervisor", "clerk", "auditor")

# permission → roles that hold it. Separation of duties: admins do not approve identity checks,
# clerks record but never decide, auditors only read.
PERMISSIONS: dict[str, frozenset[str]] = {
    "citizens.read": frozenset({"admin", "supervisor", "clerk", "auditor"}),
    "citizens.lock": frozenset({"admin"}),
    "citizens.reset_authenticator": frozenset({"admin"}),
    "citizens.end_sessions": frozenset({"admin"}),
    "verification.read": frozenset({"supervisor", "clerk", "auditor"}),
    "verification.record": frozenset({"clerk"}),
    "verification.decide": frozenset({"supervisor"}),
    # The counter (issue 14): a clerk registers, recovers and records disputes in person; each is a
    # desk record a supervisor approves (`verification.decide`), never the clerk who made it.
    "counter.register": frozenset({"clerk"}),
    "counter.recover": frozenset({"clerk"}),
    "disputes.record": frozenset({"clerk"}),
    "clients.read": frozenset({"admin", "auditor"}),
    "clients.write": frozenset({"admin"}),
    "keys.read": frozenset({"admin", "auditor"}),
    "keys.rotate": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "auditor"}),
    "staff.read": frozenset({"admin", "auditor"}),
    # A lost authenticator: an administrator removes another member's passkey.
    "staff.passkeys.remove": frozenset({"admin"}),
}

# Permissions that need a person: the four-eyes rule of the verification desk is between two staff
# members, and a check's `recorded_by` / `decided_by` name a staff account. No scope grants them.
STAFF_ONLY: frozenset[str] = frozenset(
    {
        "verification.record",
        "verification.decide",
        "counter.register",
        "counter.recover",
        "disputes.record",
        # A staff member's own second factor is a person's business, never a portal back-end's.
        "staff.passkeys.remove",
    }
)

# permission → the scope a portal's `client_credentials` token needs to use it through the admin API.
ADMIN_SCOPES: dict[str, str] = {p: f"admin:{p}" for p in PERMISSIONS if p not in STAFF_ONLY}

USERNAME_MAX = 64
# Failures per username (and per known device) in `STAFF_FAILURE_WINDOW` before tries are refused.
FAILURES_PER_USERNAME = STAFF_FAILURES_PER_USERNAME


class Forbidden(Refusal):
    """The staff member's roles do not include the permission the action needs."""

    status_code = 403
    error = "forbidden"

    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission

    @property
    def description(self) -> str:
        return f"your roles do not allow {self.permission}"


class StaffLoginFailed(IdpError):
    """Unknown username, wrong password or code, disabled account, or too many failures: says no more."""


class PasskeyRequired(StaffLoginFailed):
    """Password and code were right, but the console requires the member's passkey
    (`IDP_STAFF_REQUIRE_PASSKEY`): said plainly, since both secrets were proven."""


@dataclass(frozen=True)
class PasskeyStep:
    """The password was right; the passkey comes next (`enrol`: the member's first passkey, when
    the console requires one). `pending`: the value of the cookie that binds the next page."""

    pending: str
    enrol: bool


@dataclass(frozen=True)
class ServiceAccount(StaffRecord):
    """A portal back-end acting through the admin API with its own `client_credentials` token.

    It holds no role: it may do exactly what its token's admin scopes name (`ADMIN_SCOPES`).
    Its `id` is the client id."""

    scopes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NewStaff:
    staff: StaffRecord
    totp_secret: str
    totp_uri: str


@dataclass(frozen=True)
class StaffLogin:
    staff: StaffRecord
    cookie_value: str
    device_cookie: str = ""  # the browser's device cookie, now known to this member: set it again


@dataclass(frozen=True)
class Console:
    """The staff member behind a live session (the console derives its forms' CSRF token from the
    session cookie).

    For a service token (`service_console`) the "staff" is a `ServiceAccount` and the "session" is
    the token's lifetime: no cookie is involved, so there is no CSRF token either."""

    staff: StaffRecord
    session: StaffSessionRecord

    @property
    def actor(self) -> str:
        if isinstance(self.staff, ServiceAccount):
            return f"client:{self.staff.id}"
        return f"staff:{self.staff.username}"

    @property
    def is_service(self) -> bool:
        return isinstance(self.staff, ServiceAccount)

    def can(self, permission: str) -> bool:
        return allowed(self.staff, permission)


def allowed(staff: StaffRecord, permission: str) -> bool:
    if isinstance(staff, ServiceAccount):
        scope = ADMIN_SCOPES.get(permission)
        return scope is not None and scope in staff.scopes
    return bool(staff.roles & PERMISSIONS[permission])


def require(staff: StaffRecord, permission: str) -> None:
    if permission not in PERMISSIONS:
        raise KeyError(permission)
    if staff.status != "active" or not allowed(staff, permission):
        raise Forbidden(permission)


def fold_username(username: str) -> str:
    """The one spelling a username is stored, looked up and counted under."""
    return username.strip().casefold()


def _check_username(username: str) -> str:
    name = fold_username(username)
    if not name or len(name) > USERNAME_MAX or not all(c.isalnum() or c in "._-" for c in name) or not name.isascii():
        raise ValidationError("username", "choice")
    return name


def add_staff(
    provider: Provider, *, username: str, roles: list[str], password: str, full_name: str = "", actor: str = "system"
) -> NewStaff:
    """A new staff member with a fresh TOTP secret (shown once, as an enrolment URI and QR code)."""
    name = _check_username(username)
    if not roles or any(r not in ROLES for r in roles):
        raise ValidationError("role", "choice")
    check_new_password(password, full_name=full_name)  # the citizens' policy: staff accounts guard more
    staff_id = str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4))
    secret = new_totp_secret(provider.rng)
    try:
        staff = provider.store.staff.add(
            id=staff_id,
            username=name,
            full_name=full_name.strip() or name,
            password_hash=provider.passwords.hash(password),
            totp_sealed=provider.secrets.seal(secret, "staff:" + staff_id),
            roles=sorted(set(roles)),
            now=provider.clock.now(),
        )
    except Conflict:
        raise ValidationError("username", "taken") from None
    audit.record(
        provider,
        action="staff.add",
        outcome="success",
        actor=actor,
        subject=f"staff:{name}",
        detail={"roles": sorted(set(roles))},
    )
    return NewStaff(staff, secret, provisioning_uri(secret, name, "PostID staff"))


def login(
    provider: Provider,
    username: str,
    password: str,
    code: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    device: str | None = None,
) -> StaffLogin:
    """Password and TOTP, both; one answer for every kind of failure (`sign_in` without a passkey)."""
    done = sign_in(provider, username, password, code, ip=ip, user_agent=user_agent, device=device)
    if isinstance(done, PasskeyStep):
        raise PasskeyRequired()
    return done


def _fail(provider: Provider, name: str, reason: str, ip: str | None, user_agent: str | None) -> StaffLoginFailed:
    audit.record(
        provider,
        action="staff.login",
        outcome="failure",
        actor=f"staff:{name}",
        ip=ip,
        user_agent=user_agent,
        detail={"reason": reason},
    )
    return PasskeyRequired() if reason == "passkey_required" else StaffLoginFailed()


def sign_in(
    provider: Provider,
    username: str,
    password: str,
    code: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    device: str | None = None,
) -> StaffLogin | PasskeyStep:
    """The password, then the TOTP code, or (no code typed) the passkey on the next page.

    `device`: the browser's device cookie, if it sent one."""
    name = fold_username(username)[:USERNAME_MAX]
    now = provider.clock.now()
    known = devices.is_known(provider, f"staff:{name}", device)
    counter = devices.budget_key("staff-fail", f"staff:{name}", device or "") if known else f"staff-fail:{name}"
    # The try is counted before the hash is checked (parallel tries cannot overrun the budget) and
    # given back when the login succeeds.
    blocked = provider.store.counters.hit(counter, STAFF_FAILURE_WINDOW, now) > STAFF_FAILURES_PER_USERNAME

    def fail(reason: str) -> StaffLoginFailed:
        return _fail(provider, name, reason, ip, user_agent)

    found = provider.store.staff.find_for_login(name) if name else None
    staff, secrets = found if found else (None, None)
    matches = provider.passwords.verify(secrets.password_hash if secrets and not blocked else None, password[:1024])
    if blocked:
        raise fail("too_many_failures")
    if staff is None or secrets is None or not matches:
        raise fail("password")
    if staff.status != "active":
        raise fail("disabled")
    if provider.passwords.needs_rehash(secrets.password_hash):
        provider.store.staff.set_password_hash(staff.id, provider.passwords.hash(password), now)
    has_key = staff_passkeys.has_passkey(provider, staff.id)
    if not code.strip() and has_key:
        # The reserved try stays taken until the passkey answers (`finish_passkey_login`).
        return PasskeyStep(staff_passkeys.park(provider, staff, "login", counter), enrol=False)
    seed = provider.secrets.unseal(secrets.totp_sealed, "staff:" + staff.id)
    step = verify_totp(seed, code, now, secrets.totp_last_step)
    if step is None or not provider.store.staff.accept_step(staff.id, step):
        raise fail("totp")
    if provider.settings.staff_require_passkey:
        provider.store.counters.give_back(counter, now)  # both secrets were right
        if has_key:
            raise fail("passkey_required")
        audit.record(
            provider,
            action="staff.login",
            outcome="failure",
            actor=f"staff:{name}",
            ip=ip,
            user_agent=user_agent,
            detail={"reason": "passkey_required", "next": "first_passkey"},
        )
        return PasskeyStep(staff_passkeys.park(provider, staff, "enrol", counter), enrol=True)
    provider.store.counters.give_back(counter, now)
    return _open_session(provider, staff, ["pwd", "otp"], ip=ip, user_agent=user_agent, device=device)


def _open_session(
    provider: Provider,
    staff: StaffRecord,
    amr: list[str],
    *,
    ip: str | None,
    user_agent: str | None,
    device: str | None,
) -> StaffLogin:
    now = provider.clock.now()
    cookie_value = new_token(provider.rng, 32)
    provider.store.staff_sessions.create(
        id_digest=digest(cookie_value),
        staff_id=staff.id,
        now=now,
        expires_at=now + provider.settings.staff_session_max_ttl,
    )
    audit.record(
        provider,
        action="staff.login",
        outcome="success",
        actor=f"staff:{staff.username}",
        ip=ip,
        user_agent=user_agent,
        detail={"amr": amr},
    )
    return StaffLogin(staff, cookie_value, devices.remember(provider, f"staff:{staff.username}", device))


def finish_passkey_login(
    provider: Provider,
    pending: str | None,
    credential_json: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    device: str | None = None,
) -> StaffLogin:
    """The passkey after the password: the parked step is spent first (one answer per password),
    and any refusal is the same `StaffLoginFailed` as a wrong code, its try kept in the budget."""
    parked = staff_passkeys.pending(provider, pending)
    if parked is None or parked.purpose != "login" or not staff_passkeys.end_pending(provider, parked):
        raise StaffLoginFailed()
    name = parked.staff.username
    try:
        amr = staff_passkeys.verify_login(provider, parked, credential_json)
    except staff_passkeys.StaffPasskeyRefused as exc:
        raise _fail(provider, name, f"passkey:{exc.description}", ip, user_agent) from None
    provider.store.counters.give_back(parked.counter, provider.clock.now())
    return _open_session(provider, parked.staff, amr, ip=ip, user_agent=user_agent, device=device)


def current(provider: Provider, cookie_value: str | None) -> Console | None:
    if not cookie_value or len(cookie_value) > 100:
        return None
    session = provider.store.staff_sessions.get_live(
        digest(cookie_value), provider.clock.now(), provider.settings.staff_session_idle_ttl
    )
    if session is None:
        return None
    staff = provider.store.staff.get(session.staff_id)
    if staff is None or staff.status != "active":
        return None
    return Console(staff, session)


def service_console(provider: Provider, access_token: str) -> Console:
    """The portal behind a `client_credentials` access token presented to the admin API.

    Refused (`InvalidToken`) unless the token is live, is a service token (no `gid`; `sub` is its
    `client_id`), is not DPoP-bound (the admin API does not check proofs), and its client is still
    registered and enabled. Which routes it may use is left to `require`, like for staff."""
    claims, grant = verify_access_token(provider, access_token)
    client_id = claims.get("client_id")
    if grant is not None or "gid" in claims or not isinstance(client_id, str) or claims.get("sub") != client_id:
        raise InvalidToken("the admin API takes a service token from the client_credentials grant")
    if "cnf" in claims:
        raise InvalidToken("DPoP-bound tokens are not accepted by the admin API", detail="cnf")
    client = provider.store.clients.get(client_id)
    if client is None or client.disabled:
        raise InvalidToken("the token's client is not registered or is disabled")
    scopes = frozenset(str(claims.get("scope", "")).split()) & frozenset(ADMIN_SCOPES.values())
    account = ServiceAccount(
        id=client_id,
        username=f"client:{client_id}",
        full_name=client.name,
        roles=frozenset(),
        status="active",
        created_at=int(claims.get("iat", 0)),
        scopes=scopes,
    )
    lifetime = StaffSessionRecord(
        id_digest="",
        staff_id=client_id,
        created_at=int(claims.get("iat", 0)),
        last_seen_at=provider.clock.now(),
        expires_at=int(claims.get("exp", 0)),
    )
    return Console(account, lifetime)


def logout(provider: Provider, console: Console, *, ip: str | None = None) -> None:
    provider.store.staff_sessions.end(console.session.id_digest, provider.clock.now())
    audit.record(provider, action="staff.logout", outcome="success", actor=console.actor, ip=ip)
