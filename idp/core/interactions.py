"""The authorization flow after validation: validate → park → pages → finish.

`/authorize` either answers at once (a live session and a remembered consent: SSO) or parks
the request as an interaction bound to this browser by a secret cookie. The login and
consent pages work on that interaction; finishing it issues the authorization code.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from idp.core import sessions
from idp.core.authorize import AuthorizationRequest, known_acr
from idp.core.provider import Provider
from idp.core.scopes import ACR_VALUES
from idp.crypto.opaque import derive, digest, equal, new_token
from idp.errors import (AccessDenied, ConsentRequired, IdpError, LoginRequired, OAuthError,
                        UnmetAuthenticationRequirements)
from idp.store.records import ClientRecord, InteractionRecord, SessionRecord

LEVELS = {"LoA1": 1, "LoA2": 2}


class InteractionGone(IdpError):
    """Unknown, expired, finished, or opened in another browser: the citizen must start again."""


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
    request: AuthorizationRequest
    client: ClientRecord
    csrf_token: str
    needs_login: bool


def callback_url(provider: Provider, redirect_uri: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"


def error_redirect(provider: Provider, exc: OAuthError) -> str:
    assert exc.redirect_uri is not None
    return callback_url(provider, exc.redirect_uri, {
        "error": exc.error, "error_description": exc.description or None, "state": exc.state,
        "iss": provider.issuer,
    })


def session_suffices(provider: Provider, request: AuthorizationRequest, session: SessionRecord | None) -> bool:
    if session is None or "login" in request.prompt or "select_account" in request.prompt:
        return False
    if request.max_age is not None and provider.clock.now() - session.auth_time > request.max_age:
        return False
    return True


def consent_needed(provider: Provider, request: AuthorizationRequest, citizen_id: str) -> bool:
    if "consent" in request.prompt:
        return True
    allowed = provider.store.consents.scopes(citizen_id, request.client_id)
    return not set(request.scope) <= allowed


def check_acr(request: AuthorizationRequest, achieved: str) -> None:
    """OIDC Core §5.5.1.1 treats acr_values as voluntary, but a portal that asks for a level
    must never be told it got it when it did not: refuse when no requested level is met."""
    wanted = known_acr(request.acr_values)
    if wanted and min(LEVELS[v] for v in wanted) > LEVELS[achieved]:
        raise UnmetAuthenticationRequirements(f"this login cannot reach {' or '.join(wanted)}")


def start(
    provider: Provider, client: ClientRecord, request: AuthorizationRequest, session: SessionRecord | None
) -> Redirect | Parked:
    try:
        if session_suffices(provider, request, session):
            assert session is not None
            if not consent_needed(provider, request, session.citizen_id):
                return Redirect(issue_code(provider, client, request, session))
            if "none" in request.prompt:
                raise ConsentRequired("the citizen has not allowed this portal yet")
        elif "none" in request.prompt:
            raise LoginRequired("the citizen is not logged in")
    except OAuthError as exc:
        exc.redirect_to(request.redirect_uri, request.state)
        return Redirect(error_redirect(provider, exc))
    now = provider.clock.now()
    interaction_id, binding = new_token(provider.rng, 16), new_token(provider.rng, 32)
    provider.store.interactions.create(
        id=interaction_id, binding_digest=digest(binding), client_id=client.id, request=request.to_json(),
        created_at=now, expires_at=now + provider.settings.interaction_ttl,
        session_digest=session.id_digest if session_suffices(provider, request, session) and session else None,
    )
    return Parked(interaction_id, binding)


def load(provider: Provider, interaction_id: str, binding: str | None) -> Step:
    record = provider.store.interactions.get(interaction_id) if len(interaction_id) <= 64 else None
    now = provider.clock.now()
    if record is None or binding is None or not equal(digest(binding), record.binding_digest):
        raise InteractionGone()
    if record.completed_at is not None or record.expires_at <= now:
        raise InteractionGone()
    client = provider.store.clients.get(record.client_id)
    if client is None or client.disabled:
        raise InteractionGone()
    return Step(
        interaction=record,
        request=AuthorizationRequest.from_json(record.request),
        client=client,
        csrf_token=derive(binding, "csrf:" + interaction_id),
        needs_login=record.session_digest is None,
    )


def csrf_ok(step: Step, submitted: str | None) -> bool:
    return bool(submitted) and equal(step.csrf_token, submitted or "")


def after_login(provider: Provider, step: Step, citizen_id: str, old_cookie: str | None) -> tuple[str, Redirect | None]:
    """Start a fresh session for the citizen who just proved their password.

    Returns the new session cookie value, and a redirect when nothing is left to ask.
    """
    sessions.end(provider, old_cookie)
    new = sessions.start(provider, citizen_id, amr=["pwd"], acr="LoA1")
    provider.store.interactions.record_login(step.interaction.id, new.record.id_digest, provider.clock.now())
    if consent_needed(provider, step.request, citizen_id):
        return new.cookie_value, None
    return new.cookie_value, finish(provider, step, new.record)


def decide_consent(provider: Provider, step: Step, session: SessionRecord | None, allow: bool) -> Redirect:
    if session is None or session.id_digest != step.interaction.session_digest:
        raise InteractionGone()
    if not allow:
        if not provider.store.interactions.complete(step.interaction.id, provider.clock.now()):
            raise InteractionGone()
        exc = AccessDenied("the citizen did not allow this request")
        exc.redirect_to(step.request.redirect_uri, step.request.state)
        return Redirect(error_redirect(provider, exc))
    provider.store.consents.remember(session.citizen_id, step.client.id, frozenset(step.request.scope),
                                     provider.clock.now())
    return finish(provider, step, session)


def finish(provider: Provider, step: Step, session: SessionRecord) -> Redirect:
    if not provider.store.interactions.complete(step.interaction.id, provider.clock.now()):
        raise InteractionGone()
    try:
        return Redirect(issue_code(provider, step.client, step.request, session))
    except OAuthError as exc:
        exc.redirect_to(step.request.redirect_uri, step.request.state)
        return Redirect(error_redirect(provider, exc))


def issue_code(
    provider: Provider, client: ClientRecord, request: AuthorizationRequest, session: SessionRecord
) -> str:
    check_acr(request, session.acr if session.acr in ACR_VALUES else "LoA1")
    now = provider.clock.now()
    code = new_token(provider.rng, 32)
    grant_id = new_token(provider.rng, 16)
    provider.store.grants.create_with_code(
        grant={
            "id": grant_id, "citizen_id": session.citizen_id, "client_id": client.id, "sid": session.sid,
            "scope": " ".join(request.scope), "auth_time": session.auth_time, "acr": session.acr,
            "amr": list(session.amr), "created_at": now, "expires_at": now + provider.settings.refresh_token_ttl,
        },
        code={
            "code_digest": digest(code), "client_id": client.id, "redirect_uri": request.redirect_uri,
            "code_challenge": request.code_challenge, "nonce": request.nonce, "created_at": now,
            "expires_at": now + provider.settings.code_ttl,
        },
    )
    return callback_url(provider, request.redirect_uri, {"code": code, "state": request.state, "iss": provider.issuer})
