"""The authorization flow after validation: validate → park → pages → finish.

`/authorize` either answers at once (a live session and a remembered consent: SSO) or parks
the request as an interaction bound to this browser by a secret cookie. The login, second
factor and consent pages work on that interaction; finishing it issues the authorization
code. The citizen's own account pages log in through the same pages (an interaction with a
`return_to` instead of a client).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from idp.core import audit, devices, factors, fapi, limits, otp, passkeys, sessions
from idp.core.authorize import AuthorizationRequest, known_acr
from idp.core.levels import LOA1, LOA2, at_least, highest, is_level, lowest
from idp.core.provider import Provider
from idp.core.subjects import subject_for
from idp.crypto.opaque import digest, equal, new_token
from idp.errors import (
    AccessDenied,
    ConsentRequired,
    Expired,
    LoginRequired,
    OAuthError,
    Refusal,
    UnmetAuthenticationRequirements,
)
from idp.store.records import CitizenRecord, ClientRecord, InteractionRecord, SessionRecord

SECOND_FACTORS = ("totp", "sms", "recovery")  # typed codes; a passkey has its own endpoint


class InteractionGone(Expired):
    """Unknown, expired, finished, or opened in another browser: the citizen must start again."""


class FactorNotOffered(Refusal):
    """The account has a stronger factor than SMS (an authenticator app): a code sent to the phone
    never stands in for it, or a swapped SIM and a reset would be the whole account."""

    error = "factor_not_offered"
    message_key = "mfa.not_offered"


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Parked:
    interaction_id: str
    binding: str  # goes into a cookie; only its digest is stored


@dataclass(frozen=True)
class Step:
    """An interaction the current browser may act on, with what its page needs."""

    interaction: InteractionRecord
    request: AuthorizationRequest | None  # None for an account-page login
    client: ClientRecord | None

    @property
    def needs_login(self) -> bool:
        return self.interaction.session_digest is None and self.interaction.pending_citizen_id is None

    @property
    def needs_second_factor(self) -> bool:
        return self.interaction.session_digest is None and self.interaction.pending_citizen_id is not None


@dataclass(frozen=True)
class LoginOutcome:
    """After a factor: a new session cookie (when one started), where to go, or a second factor owed."""

    cookie_value: str | None = None
    redirect: Redirect | None = None
    second_factor: bool = False
    parked: Parked | None = None  # a resumed request that needs a page again (a new interaction)


def callback_url(redirect_uri: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"


def error_redirect(provider: Provider, exc: OAuthError) -> str:
    assert exc.redirect_uri is not None
    return callback_url(
        exc.redirect_uri,
        {
            "error": exc.error,
            "error_description": exc.description or None,
            "state": exc.state,
            "iss": provider.issuer,
        },
    )


def _refuse(provider: Provider, request: AuthorizationRequest, exc: OAuthError) -> Redirect:
    exc.redirect_to(request.redirect_uri, request.state)
    return Redirect(error_redirect(provider, exc))


def wanted_level(request: AuthorizationRequest | None, client: ClientRecord | None = None) -> str:
    """The lowest level among the known `acr_values` asked for (LoA1 when none), raised to the
    minimum level the portal was registered with: a portal set to LoA2 never gets less."""
    wanted = known_acr(request.acr_values) if request else ()
    floor = client.min_level if client is not None and is_level(client.min_level) else LOA1
    return highest(lowest(wanted), floor)


def achieved_level(citizen: CitizenRecord, amr: tuple[str, ...] | list[str]) -> str:
    """LoA2 needs an identity verified in person *and* a two-factor login."""
    return LOA2 if citizen.level == LOA2 and "mfa" in amr else LOA1


def hint_names_another(
    provider: Provider, client: ClientRecord, request: AuthorizationRequest, citizen_id: str
) -> bool:
    """The portal sent an `id_token_hint` for someone other than `citizen_id` (OIDC Core §3.1.2.1):
    that citizen's session is not used, and no code is issued for them."""
    expected = request.id_token_hint_sub
    return expected is not None and expected != subject_for(provider, citizen_id, client)


def session_suffices(provider: Provider, request: AuthorizationRequest, session: SessionRecord | None) -> bool:
    if session is None or "login" in request.prompt or "select_account" in request.prompt:
        return False
    return not (request.max_age is not None and provider.clock.now() - session.auth_time > request.max_age)


def consent_needed(provider: Provider, request: AuthorizationRequest | None, citizen_id: str) -> bool:
    if request is None:
        return False
    if "consent" in request.prompt:
        return True
    allowed = provider.store.consents.scopes(citizen_id, request.client_id)
    return not set(request.scope) <= allowed


def check_acr(request: AuthorizationRequest, client: ClientRecord, achieved: str) -> None:
    """OIDC Core §5.5.1.1 treats acr_values as voluntary, but a portal that asks for a level
    must never be told it got it when it did not: refuse when no requested level is met."""
    if not at_least(achieved, wanted_level(request, client)):
        raise UnmetAuthenticationRequirements(f"this login cannot reach {wanted_level(request, client)}")


def _park(
    provider: Provider,
    client: ClientRecord | None,
    request: AuthorizationRequest | None,
    *,
    session: SessionRecord | None = None,
    pending: SessionRecord | None = None,
    return_to: str | None = None,
    client_ip: str,
) -> Parked:
    limits.reserve_interaction(provider, client_ip)
    now = provider.clock.now()
    interaction_id, binding = new_token(provider.rng, 16), new_token(provider.rng, 32)
    provider.store.interactions.create(
        id=interaction_id,
        binding_digest=digest(binding),
        client_id=client.id if client else None,
        request=request.to_json() if request else {},
        created_at=now,
        expires_at=now + provider.settings.interaction_ttl,
        session_digest=session.id_digest if session else None,
        return_to=return_to,
    )
    if pending is not None:  # step-up: the password is proven by the session; a second factor is owed
        provider.store.interactions.record_first_factor(interaction_id, pending.citizen_id, list(pending.amr))
    return Parked(interaction_id, binding)


def start(
    provider: Provider,
    client: ClientRecord,
    request: AuthorizationRequest,
    session: SessionRecord | None,
    client_ip: str,
) -> Redirect | Parked:
    try:
        if session is not None and hint_names_another(provider, client, request, session.citizen_id):
            session = None  # the login page, for the citizen the portal expects
        if not session_suffices(provider, request, session):
            if "none" in request.prompt:
                raise LoginRequired("the citizen is not logged in")
            return _park(provider, client, request, client_ip=client_ip)
        assert session is not None
        if not at_least(session.acr, wanted_level(request, client)):
            citizen = provider.store.citizens.get(session.citizen_id)
            if citizen is None or citizen.level != LOA2:
                raise UnmetAuthenticationRequirements("the account's identity is not verified to LoA2")
            if "none" in request.prompt:
                raise LoginRequired("a second factor is needed for LoA2")
            return _park(provider, client, request, pending=session, client_ip=client_ip)
        if not consent_needed(provider, request, session.citizen_id):
            return Redirect(issue_code(provider, client, request, session))
        if "none" in request.prompt:
            raise ConsentRequired("the citizen has not allowed this portal yet")
        return _park(provider, client, request, session=session, client_ip=client_ip)
    except OAuthError as exc:
        return _refuse(provider, request, exc)


def start_account_login(provider: Provider, return_to: str, client_ip: str) -> Parked:
    return _park(provider, None, None, return_to=return_to, client_ip=client_ip)


def _repark(provider: Provider, step: Step, client_ip: str) -> Parked:
    if step.request is None:
        return start_account_login(provider, step.interaction.return_to or "/account", client_ip)
    return _park(provider, step.client, step.request, client_ip=client_ip)


def resume(provider: Provider, step: Step, session: SessionRecord | None, client_ip: str) -> Redirect | Parked:
    """Answer a finished interaction's request again, as `/authorize` answers it with this session
    (SSO): Back after a login, a double-clicked button. A login made during this interaction
    satisfies its `prompt=login` and `max_age`: the citizen just proved it."""
    if step.request is None or step.client is None:
        return Redirect(provider.issuer + (step.interaction.return_to or "/account"))
    request = step.request
    if session is not None and session.auth_time >= (step.interaction.logged_in_at or provider.clock.now() + 1):
        request = replace(
            request, prompt=tuple(p for p in request.prompt if p not in ("login", "select_account")), max_age=None
        )
    return start(provider, step.client, request, session, client_ip)


def way_on(
    provider: Provider, interaction_id: str, binding: str | None, session: SessionRecord | None, client_ip: str
) -> Redirect | Parked | None:
    """Where a page of an interaction that can no longer be acted on sends the citizen, so no
    page is a dead end: an expired request goes back to its portal with an OAuth error (its
    redirect URI and `state` were proven when it was parked); a finished one is answered again
    as SSO answers it; an account-page login goes back to its page. None when the interaction
    is unknown or was opened in another browser: the page offers to start again."""
    record = _bound(provider, interaction_id, binding)
    if record is None:
        return None
    if record.client_id is None:
        return Redirect(provider.issuer + (record.return_to or "/account"))
    client = provider.store.clients.get(record.client_id)
    if client is None or client.disabled:
        return None
    request = AuthorizationRequest.from_json(record.request)
    if record.expires_at <= provider.clock.now():
        return _refuse(provider, request, LoginRequired("the login page expired before it was completed"))
    return resume(provider, Step(record, request, client), session, client_ip)


def adopt_session(provider: Provider, interaction_id: str, binding: str | None, session: SessionRecord) -> None:
    """A citizen who registered from a portal's login page is logged in: the interaction they
    came from continues with that session (to consent, then the portal)."""
    record = _bound(provider, interaction_id, binding)
    if record is not None and record.completed_at is None and record.expires_at > provider.clock.now():
        provider.store.interactions.record_login(record.id, session.id_digest, provider.clock.now())


def _bound(provider: Provider, interaction_id: str, binding: str | None) -> InteractionRecord | None:
    record = provider.store.interactions.get(interaction_id) if len(interaction_id) <= 64 else None
    if record is None or binding is None or not equal(digest(binding), record.binding_digest):
        return None
    return record


def load(provider: Provider, interaction_id: str, binding: str | None, *, finished_ok: bool = False) -> Step:
    """The interaction this browser may act on. `finished_ok`: a finished one too (a repeated
    submit of its last form), until it expires."""
    record = _bound(provider, interaction_id, binding)
    now = provider.clock.now()
    if record is None or record.expires_at <= now:
        raise InteractionGone()
    if record.completed_at is not None and not finished_ok:
        raise InteractionGone()
    client = provider.store.clients.get(record.client_id) if record.client_id else None
    if record.client_id and (client is None or client.disabled):
        raise InteractionGone()
    return Step(
        interaction=record,
        request=AuthorizationRequest.from_json(record.request) if record.client_id else None,
        client=client,
    )


def after_password(
    provider: Provider, step: Step, citizen: CitizenRecord, old_cookie: str | None, client_ip: str = ""
) -> LoginOutcome:
    """The password is right: ask for a second factor when the citizen enrolled one or the portal
    wants LoA2; otherwise start the session."""
    wanted = wanted_level(step.request, step.client)
    if step.request is not None and wanted == LOA2 and citizen.level != LOA2:
        if not provider.store.interactions.complete(step.interaction.id, provider.clock.now()):
            raise InteractionGone()
        return LoginOutcome(
            redirect=_refuse(
                provider,
                step.request,
                UnmetAuthenticationRequirements("the account's identity is not verified to LoA2"),
            )
        )
    owed = factors.has_totp(provider, citizen.id) or passkeys.has_passkey(provider, citizen.id) or wanted == LOA2
    if owed and step.interaction.completed_at is None:
        provider.store.interactions.record_first_factor(step.interaction.id, citizen.id, ["pwd"])
        return LoginOutcome(second_factor=True)
    if step.interaction.completed_at is not None and owed:
        # A repeated submit after the interaction finished: the second factor is asked again by a
        # fresh interaction for the same request.
        return LoginOutcome(parked=_repark(provider, step, client_ip))
    return _establish(provider, step, citizen, ["pwd"], old_cookie, client_ip)


def after_password_login(
    provider: Provider, step: Step, citizen: CitizenRecord, device: str | None, old_cookie: str | None, client_ip: str
) -> tuple[LoginOutcome, str]:
    """The login form's password was right: this browser becomes a known device of the account
    (its cookie value is returned, to be set again), then `after_password`. One transaction for
    both: the device, the session, the audit event and the interaction's step commit once."""
    with provider.store.unit_of_work():
        known = devices.remember(provider, f"citizen:{citizen.id}", device)
        return after_password(provider, step, citizen, old_cookie, client_ip), known


def second_factor_methods(provider: Provider, step: Step) -> list[str]:
    citizen_id = step.interaction.pending_citizen_id
    assert citizen_id is not None
    methods = ["passkey"] if passkeys.has_passkey(provider, citizen_id) else []
    if factors.has_totp(provider, citizen_id):
        methods.append("totp")
    elif not factors.stronger_than_sms(provider, citizen_id):
        methods.append("sms")
    if provider.store.recovery_codes.remaining(citizen_id):
        methods.append("recovery")
    return methods


def send_login_code(provider: Provider, step: Step, client_ip: str, lang: str) -> None:
    citizen = provider.store.citizens.get(step.interaction.pending_citizen_id or "")
    if citizen is None:
        raise InteractionGone()
    if "sms" not in second_factor_methods(provider, step):
        raise FactorNotOffered("SMS is not a second factor for an account with an authenticator app")
    otp.send_code(
        provider,
        citizen_id=citizen.id,
        purpose="login",
        destination=citizen.phone,
        flow_id=step.interaction.id,
        client_ip=client_ip,
        lang=lang,
        owner=True,  # the password was proven in this interaction
    )


def after_second_factor(
    provider: Provider, step: Step, method: str, code: str, old_cookie: str | None, client_ip: str = ""
) -> LoginOutcome:
    """Check the second factor; raises otp.CodeRefused when it is wrong."""
    citizen = provider.store.citizens.get(step.interaction.pending_citizen_id or "")
    if citizen is None or citizen.status != "active" or method not in SECOND_FACTORS:
        raise InteractionGone()
    if method not in second_factor_methods(provider, step):
        raise FactorNotOffered(f"{method} is not a second factor this account may use")
    if method == "totp":
        if not factors.verify_totp_code(provider, citizen.id, code, flow_id=step.interaction.id):
            audit.record(
                provider,
                action="citizen.login.second_factor",
                outcome="failure",
                subject=f"citizen:{citizen.id}",
                client_id=step.interaction.client_id,
                detail={"method": "totp"},
            )
            raise otp.CodeRefused("wrong")
        used = "otp"
    elif method == "recovery":
        if not factors.use_recovery_code(provider, citizen.id, code, flow_id=step.interaction.id):
            raise otp.CodeRefused("wrong")
        used = "otp"
    else:
        otp.verify_code(provider, citizen_id=citizen.id, purpose="login", flow_id=step.interaction.id, code=code)
        used = "sms"
    amr = [a for a in step.interaction.pending_amr if a != "mfa"] + [used, "mfa"]
    return _establish(provider, step, citizen, amr, old_cookie, client_ip)


def passkey_first(step: Step) -> bool:
    """Whether the login page leads with the passkey: the portal wants a level that needs two
    factors, which a passkey gives in one step (possession unlocked by a PIN or biometric)."""
    return step.request is not None and wanted_level(step.request, step.client) == LOA2


def passkey_options(provider: Provider, step: Step) -> dict[str, object]:
    """The browser's `navigator.credentials.get` options for this interaction: the citizen's own
    passkeys as the second factor, any discoverable one for a passwordless login."""
    if step.needs_second_factor:
        if "passkey" not in second_factor_methods(provider, step):
            raise FactorNotOffered("the account has no passkey")
        return passkeys.begin_login(provider, step.interaction.id, step.interaction.pending_citizen_id)
    if not step.needs_login:
        raise InteractionGone()
    return passkeys.begin_login(provider, step.interaction.id, None)


def after_passkey(
    provider: Provider, step: Step, credential_json: str, old_cookie: str | None, client_ip: str = "", lang: str = "vi"
) -> LoginOutcome:
    """A passkey's assertion for this interaction; raises `passkeys.PasskeyRefused`. After the
    password it is the second factor (`mfa`: two factors); on its own it is a passwordless login,
    two factors in one (the key, unlocked by the device's PIN or biometric: user verification)."""
    if step.needs_second_factor:
        pending = step.interaction.pending_citizen_id
        used = passkeys.finish_login(provider, step.interaction.id, pending, credential_json, lang)
        if used.citizen.status != "active":
            raise InteractionGone()
        kept = [a for a in step.interaction.pending_amr if a != "mfa"]
        amr = kept + [a for a in used.amr if a != "mfa" and a not in kept] + ["mfa"]
        return _establish(provider, step, used.citizen, amr, old_cookie, client_ip)
    if not step.needs_login:
        raise InteractionGone()
    used = passkeys.finish_login(provider, step.interaction.id, None, credential_json, lang)
    wanted = wanted_level(step.request, step.client)
    if step.request is not None and wanted == LOA2 and used.citizen.level != LOA2:
        if not provider.store.interactions.complete(step.interaction.id, provider.clock.now()):
            raise InteractionGone()
        return LoginOutcome(
            redirect=_refuse(
                provider,
                step.request,
                UnmetAuthenticationRequirements("the account's identity is not verified to LoA2"),
            )
        )
    return _establish(provider, step, used.citizen, used.amr, old_cookie, client_ip)


def _establish(
    provider: Provider, step: Step, citizen: CitizenRecord, amr: list[str], old_cookie: str | None, client_ip: str
) -> LoginOutcome:
    """A fresh session (never the old id: no fixation), then consent or finish."""
    sessions.end(provider, old_cookie)
    new = sessions.start(provider, citizen.id, amr=amr, acr=achieved_level(citizen, amr))
    audit.record(
        provider,
        action="citizen.login",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
        client_id=step.interaction.client_id,
        detail={"amr": amr, "acr": new.record.acr},
    )
    provider.store.interactions.record_login(step.interaction.id, new.record.id_digest, provider.clock.now())
    if (
        step.client is not None
        and step.request is not None
        and hint_names_another(provider, step.client, step.request, citizen.id)
    ):
        return _finished(new.cookie_value, finish(provider, step, new.record, client_ip))
    if consent_needed(provider, step.request, citizen.id) and step.interaction.completed_at is None:
        return LoginOutcome(cookie_value=new.cookie_value)
    return _finished(new.cookie_value, finish(provider, step, new.record, client_ip))


def _finished(cookie_value: str | None, done: Redirect | Parked) -> LoginOutcome:
    if isinstance(done, Parked):
        return LoginOutcome(cookie_value=cookie_value, parked=done)
    return LoginOutcome(cookie_value=cookie_value, redirect=done)


def decide_consent(
    provider: Provider, step: Step, session: SessionRecord | None, allow: bool, client_ip: str = ""
) -> Redirect | Parked:
    """A repeated "Allow" (a double click) continues the same request as SSO does; a repeated
    "Deny" answers the portal the same `access_denied` again."""
    if session is None or session.id_digest != step.interaction.session_digest or step.request is None:
        raise InteractionGone()
    if not allow:
        provider.store.interactions.complete(step.interaction.id, provider.clock.now())
        return _refuse(provider, step.request, AccessDenied("the citizen did not allow this request"))
    provider.store.consents.remember(
        session.citizen_id, step.request.client_id, frozenset(step.request.scope), provider.clock.now()
    )
    return finish(provider, step, session, client_ip)


def finish(provider: Provider, step: Step, session: SessionRecord, client_ip: str = "") -> Redirect | Parked:
    """Issue the code. When the interaction was already finished (a repeated submit that raced
    the first), the same request is answered again from this session, as SSO answers it."""
    if not provider.store.interactions.complete(step.interaction.id, provider.clock.now()):
        if step.interaction.expires_at <= provider.clock.now():
            raise InteractionGone()
        return resume(provider, step, session, client_ip)
    if step.request is None or step.client is None:
        return Redirect(provider.issuer + (step.interaction.return_to or "/account"))
    try:
        return Redirect(issue_code(provider, step.client, step.request, session))
    except OAuthError as exc:
        return _refuse(provider, step.request, exc)


def issue_code(provider: Provider, client: ClientRecord, request: AuthorizationRequest, session: SessionRecord) -> str:
    if hint_names_another(provider, client, request, session.citizen_id):
        raise LoginRequired("the citizen logged in is not the one id_token_hint names")
    check_acr(request, client, session.acr if is_level(session.acr) else LOA1)
    now = provider.clock.now()
    code = new_token(provider.rng, 32)
    grant_id = new_token(provider.rng, 16)
    provider.store.grants.create_with_code(
        grant={
            "id": grant_id,
            "citizen_id": session.citizen_id,
            "client_id": client.id,
            "sid": session.sid,
            "scope": " ".join(request.scope),
            "auth_time": session.auth_time,
            "acr": session.acr,
            "amr": list(session.amr),
            "created_at": now,
            "expires_at": now + provider.settings.refresh_token_ttl,
        },
        code={
            "code_digest": digest(code),
            "client_id": client.id,
            "redirect_uri": request.redirect_uri,
            "code_challenge": request.code_challenge,
            "nonce": request.nonce,
            "created_at": now,
            "expires_at": now + fapi.code_ttl(client, provider.settings),
            "dpop_jkt": request.dpop_jkt,
        },
    )
    return callback_url(request.redirect_uri, {"code": code, "state": request.state, "iss": provider.issuer})
