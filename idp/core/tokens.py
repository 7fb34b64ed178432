"""The token endpoint's grants, userinfo and revocation (RFC 6749 §4.1.3 and §6, OIDC Core §3.1.3,
RFC 9068, RFC 7009).

The hot path is one client lookup, one read of the code (or refresh token) with its grant, two
signatures, and last one write that spends it and stores the new refresh token: on PostgreSQL two
round trips in all (`Database.last_write`), and on SQLite the writer lock is held for that write only.
"""

from __future__ import annotations

from typing import Any, NoReturn

from idp.core import audit, dpop, fapi
from idp.core.params import Params, RawParams
from idp.core.policy import REFRESH_GRACE
from idp.core.provider import Provider
from idp.core.scopes import citizen_id_claims, claims_for, parse_scope
from idp.core.subjects import subject_for
from idp.crypto.jwts import TYP_ACCESS_TOKEN, TYP_ID_TOKEN, BadToken, sign, token_hash, verify
from idp.crypto.opaque import digest, equal, new_token, pkce_s256
from idp.errors import (
    InvalidClient,
    InvalidDpopProof,
    InvalidGrant,
    InvalidScope,
    InvalidToken,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from idp.store.records import CitizenRecord, ClientRecord, CodeRecord, GrantRecord, RefreshRecord

_VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def grant(provider: Provider, client: ClientRecord, raw: RawParams, dpop_jkt: str | None = None) -> dict[str, Any]:
    """Run the grant; `dpop_jkt` is the thumbprint of a verified DPoP proof's key, if one came."""
    params = Params.of(raw)
    grant_type = params.one("grant_type", required=True)
    if client.require_dpop and dpop_jkt is None:
        raise InvalidDpopProof("this client must send a DPoP proof")
    if grant_type == "authorization_code":
        return exchange_code(provider, client, params, dpop_jkt)
    if grant_type == "refresh_token":
        return refresh(provider, client, params, dpop_jkt)
    if grant_type == "client_credentials":
        return client_credentials(provider, client, params, dpop_jkt)
    raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")


def check_grant_type(client: ClientRecord, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise UnauthorizedClient(f"this client may not use {grant_type}")


# Scopes that describe a citizen; a portal back-end acting for itself can never hold them.
_CITIZEN_SCOPES = frozenset({"openid", "profile", "email", "phone", "offline_access", "citizen_id", "national_profile"})


def client_credentials(
    provider: Provider, client: ClientRecord, raw: RawParams, dpop_jkt: str | None = None
) -> dict[str, Any]:
    """RFC 6749 §4.4: a portal back-end calling APIs as itself, with the scopes it was allowed."""
    params = Params.of(raw)
    check_grant_type(client, "client_credentials")
    if client.is_public:
        raise UnauthorizedClient("a public client cannot use client_credentials")
    allowed = sorted(client.scopes - _CITIZEN_SCOPES)
    requested = params.one("scope")
    scope = parse_scope(requested) if requested is not None else allowed
    if not set(scope) <= set(allowed):
        raise InvalidScope("scope is not allowed for this client")
    now = provider.clock.now()
    ttl = fapi.access_token_ttl(client, provider.settings)
    claims = {
        "iss": provider.issuer,
        "sub": client.id,
        "aud": provider.issuer,
        "client_id": client.id,
        "iat": now,
        "exp": now + ttl,
        "jti": new_token(provider.rng, 16),
        "scope": " ".join(scope),
    }
    if dpop_jkt:
        claims["cnf"] = {"jkt": dpop_jkt}
    return {
        "access_token": sign(claims, provider.keys.signer("ES256"), TYP_ACCESS_TOKEN),
        "token_type": "DPoP" if dpop_jkt else "Bearer",
        "expires_in": ttl,
        "scope": " ".join(scope),
    }


def check_code_verifier(verifier: str | None, challenge: str) -> None:
    """RFC 7636 §4.1 and §4.6: 43–128 unreserved characters whose S256 is the challenge."""
    if not verifier:
        raise InvalidGrant("code_verifier is required")
    if not 43 <= len(verifier) <= 128 or not set(verifier) <= _VERIFIER_CHARS:
        raise InvalidGrant("code_verifier is malformed")
    if not equal(pkce_s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")


def exchange_code(
    provider: Provider, client: ClientRecord, raw: RawParams, dpop_jkt: str | None = None
) -> dict[str, Any]:
    """The code and its grant are read and every check made and the tokens signed first; then one
    last write spends the code and stores the refresh token (`Grants.redeem_code`). A code refused
    by a check is spent all the same (single use, RFC 6749 §4.1.2); a failure before the spend
    (a signer that cannot sign) leaves the code as it was, and tokens leave only after the spend
    is committed."""
    params = Params.of(raw)
    check_grant_type(client, "authorization_code")
    code = params.one("code", required=True) or ""
    redirect_uri = params.one("redirect_uri", required=True)
    verifier = params.one("code_verifier")
    now = provider.clock.now()
    code_digest = digest(code)
    found = provider.store.grants.code_with_grant(code_digest)
    if found is None or found[0].client_id != client.id:
        raise InvalidGrant("the authorization code is invalid")
    record, grant_record = found
    if record.consumed_at is not None:
        _code_replayed(provider, client, record.grant_id, now)
    try:
        grant_record = _usable_code(record, grant_record, redirect_uri, verifier, dpop_jkt, now)
    except InvalidGrant:
        provider.store.grants.consume_code(code_digest, client.id, now)
        raise
    if dpop_jkt and client.is_public:  # §5: a public client's refresh tokens stay bound to the key
        provider.store.grants.bind_dpop(grant_record.id, dpop_jkt)
    offline = "offline_access" in grant_record.scope.split()
    refresh_token = new_token(provider.rng, 32) if offline else None
    response = issue(
        provider,
        client,
        grant_record,
        grant_record.scope,
        nonce=record.nonce,
        refresh_token=refresh_token,
        dpop_jkt=dpop_jkt,
    )
    stored = None
    if refresh_token is not None:
        stored = {
            "token_digest": digest(refresh_token),
            "grant_id": grant_record.id,
            "client_id": client.id,
            "scope": grant_record.scope,
            "created_at": now,
            "expires_at": grant_record.expires_at,
        }
    if not provider.store.grants.redeem_code(code_digest, client.id, now, stored):
        _code_replayed(provider, client, record.grant_id, now)  # spent meanwhile by another exchange
    return response


def _usable_code(
    record: CodeRecord,
    grant_record: GrantRecord | None,
    redirect_uri: str | None,
    verifier: str | None,
    dpop_jkt: str | None,
    now: int,
) -> GrantRecord:
    if record.expires_at <= now:
        raise InvalidGrant("the authorization code has expired")
    if redirect_uri != record.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    check_code_verifier(verifier, record.code_challenge)
    if record.dpop_jkt is not None and record.dpop_jkt != dpop_jkt:
        raise InvalidGrant("the code is bound to another DPoP key")  # RFC 9449 §10
    if grant_record is None or grant_record.revoked_at is not None:
        raise InvalidGrant("the authorization has been revoked")
    if not grant_record.citizen_active:
        raise InvalidGrant("the account is not active")
    return grant_record


def _code_replayed(provider: Provider, client: ClientRecord, grant_id: str, now: int) -> NoReturn:
    """RFC 6749 §4.1.2: a code used twice revokes every token issued from it."""
    _end_grant(provider, client, grant_id, now, "token.code_replay")
    raise InvalidGrant("the authorization code was already used", detail="code replay")


def _end_grant(provider: Provider, client: ClientRecord, grant_id: str, now: int, action: str) -> None:
    """A single-use credential came back: the grant ends, and the audit trail says why."""
    provider.store.grants.revoke(grant_id, now)
    audit.record(
        provider,
        action=action,
        outcome="failure",
        actor=f"client:{client.id}",
        client_id=client.id,
        detail={"grant": grant_id},
    )


def refresh(provider: Provider, client: ClientRecord, raw: RawParams, dpop_jkt: str | None = None) -> dict[str, Any]:
    """As a code exchange: the token and its grant are read, checked and the tokens signed first;
    then one last write rotates the token and stores its successor (`RefreshTokens.rotate`). A
    token already rotated gets the one retry of a lost response, or ends the grant (a replay)."""
    params = Params.of(raw)
    check_grant_type(client, "refresh_token")
    token = params.one("refresh_token", required=True) or ""
    requested = params.one("scope")
    now = provider.clock.now()
    token_digest = digest(token)
    found = provider.store.refresh_tokens.with_grant(token_digest)
    if client.is_public and found is not None:  # checked first, so a thief without the key cannot burn the token
        bound_grant = found[1]
        if bound_grant is not None and bound_grant.dpop_jkt and bound_grant.dpop_jkt != dpop_jkt:
            raise InvalidGrant("the refresh token is bound to another DPoP key")
    if fapi.applies(client):
        return _refresh_without_rotation(provider, client, token, requested, dpop_jkt)
    if found is None or found[0].client_id != client.id:
        raise InvalidGrant("the refresh token is invalid")
    record, grant_record = found
    successor = new_token(provider.rng, 32)
    rotated_before = record.consumed_at is not None
    if rotated_before:
        record = _retry_or_replay(provider, client, token_digest, record, successor, now)
        grant_record = provider.store.grants.get(record.grant_id)
    if record.expires_at <= now or grant_record is None or grant_record.revoked_at is not None:
        raise InvalidGrant("the refresh token has expired or was revoked")
    scope = _refreshed_scope(record.scope, requested)
    response = issue(provider, client, grant_record, scope, nonce=None, refresh_token=successor, dpop_jkt=dpop_jkt)
    if (
        not rotated_before
        and provider.store.refresh_tokens.rotate(token_digest, client.id, now, digest(successor)) is None
    ):
        # Rotated meanwhile by a concurrent request: as if this one came after it.
        known = provider.store.refresh_tokens.find(token_digest)
        if known is None or known.consumed_at is None:
            raise InvalidGrant("the refresh token is invalid")
        _retry_or_replay(provider, client, token_digest, known, successor, now)
    return response


def _retry_or_replay(
    provider: Provider, client: ClientRecord, token_digest: str, known: RefreshRecord, successor: str, now: int
) -> RefreshRecord:
    """A rotated token presented again: the one retry a client gets when it never received the
    successor (`successor` replaces it), or else a leak, which ends the grant (RFC 9700 §4.14.2)."""
    retried = None
    if known.consumed_at is not None and now - known.consumed_at <= REFRESH_GRACE and not known.grace_used:
        retried = provider.store.refresh_tokens.retry_within_grace(
            token_digest, client.id, now, REFRESH_GRACE, digest(successor)
        )
    if retried is None:
        _end_grant(provider, client, known.grant_id, now, "token.refresh_replay")
        raise InvalidGrant("the refresh token was already used", detail="refresh token replay")
    return retried


def _refreshed_scope(granted: str, requested: str | None) -> str:
    """RFC 6749 §6: the refresh token keeps its scope; a narrower `scope` narrows only the access
    token issued now."""
    if requested is None:
        return granted
    wanted = parse_scope(requested)
    if not set(wanted) <= set(granted.split()):
        raise InvalidScope("a refresh cannot widen the scope")
    return " ".join(wanted)


def _refresh_without_rotation(
    provider: Provider, client: ClientRecord, token: str, requested: str | None, dpop_jkt: str | None
) -> dict[str, Any]:
    """FAPI 2.0 §5.3.2.1-9: no rotation. The token is already sender-constrained (only the client
    that proves its key with a `private_key_jwt` assertion can use it), so rotating adds nothing
    and a lost response would cost the citizen the login. The same token comes back and keeps
    working until its grant ends or is revoked; nothing is written."""
    now = provider.clock.now()
    record = provider.store.refresh_tokens.find(digest(token))
    if record is None or record.client_id != client.id or record.consumed_at is not None:
        raise InvalidGrant("the refresh token is invalid")
    grant_record = provider.store.grants.get(record.grant_id)
    if record.expires_at <= now or grant_record is None or grant_record.revoked_at is not None:
        raise InvalidGrant("the refresh token has expired or was revoked")
    scope = _refreshed_scope(record.scope, requested)
    return issue(provider, client, grant_record, scope, nonce=None, refresh_token=token, dpop_jkt=dpop_jkt)


def issue(
    provider: Provider,
    client: ClientRecord,
    grant_record: GrantRecord,
    scope: str,
    *,
    nonce: str | None,
    refresh_token: str | None = None,
    dpop_jkt: str | None = None,
) -> dict[str, Any]:
    if not grant_record.citizen_active:
        raise InvalidGrant("the account is not active")
    now = provider.clock.now()
    settings = provider.settings
    access_ttl = fapi.access_token_ttl(client, settings)
    scopes = scope.split()
    access_key = provider.keys.signer("ES256")
    jti = new_token(provider.rng, 16)
    sub = subject_for(provider, grant_record.citizen_id, client)
    access_claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": sub,
        "aud": provider.issuer,
        "client_id": client.id,
        "iat": now,
        "exp": now + access_ttl,
        "jti": jti,
        "scope": scope,
        "auth_time": grant_record.auth_time,
        "acr": grant_record.acr,
        "amr": list(grant_record.amr),
        "gid": grant_record.id,
    }
    if dpop_jkt:
        access_claims["cnf"] = {"jkt": dpop_jkt}  # RFC 9449 §6.1
    access_token = sign(access_claims, access_key, TYP_ACCESS_TOKEN)
    response: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "DPoP" if dpop_jkt else "Bearer",
        "expires_in": access_ttl,
        "scope": scope,
    }
    if "openid" in scopes:
        id_key = provider.keys.signer(client.id_token_alg)
        claims = {
            "iss": provider.issuer,
            "sub": sub,
            "aud": client.id,
            "azp": client.id,
            "iat": now,
            "exp": now + settings.id_token_ttl,
            "auth_time": grant_record.auth_time,
            "acr": grant_record.acr,
            "amr": list(grant_record.amr),
            "at_hash": token_hash(access_token, id_key.alg),
        }
        if grant_record.sid:
            claims["sid"] = grant_record.sid
        if nonce is not None:
            claims["nonce"] = nonce
        if "citizen_id" in scopes:
            # The number and its standing ride in the ID token too, so a portal that reads only the
            # ID token cannot mistake a declared number for a verified one (one read, for these portals only).
            citizen = provider.store.citizens.get(grant_record.citizen_id)
            if citizen is not None:
                claims.update(citizen_id_claims(citizen))
        response["id_token"] = sign(claims, id_key, TYP_ID_TOKEN)
    if refresh_token is not None:  # stored by the caller, with the spend of the code or the old token
        response["refresh_token"] = refresh_token
    return response


def verify_access_token(provider: Provider, token: str) -> tuple[dict[str, Any], GrantRecord | None]:
    """The claims of a live access token and the grant it hangs off (None for a service token)."""
    claims, grant_record, _ = _live_access_token(provider, token)
    return claims, grant_record


def _live_access_token(
    provider: Provider, token: str
) -> tuple[dict[str, Any], GrantRecord | None, CitizenRecord | None]:
    """A valid signature, a jti never revoked and a live grant; with the grant's citizen, read in the
    same query (userinfo's hot path is one query)."""
    try:
        claims = verify(
            token,
            provider.keys,
            typ=TYP_ACCESS_TOKEN,
            issuer=provider.issuer,
            audience=provider.issuer,
            now=provider.clock.now(),
            leeway=provider.settings.clock_leeway,
        )
    except BadToken as exc:
        raise InvalidToken("the access token is invalid", detail=str(exc)) from None
    jti = str(claims.get("jti"))
    if "gid" not in claims:
        if provider.store.revoked_tokens.is_revoked(jti):
            raise InvalidToken("the access token was revoked")
        return claims, None, None
    found = provider.store.access_reads.for_access_token(str(claims["gid"]), jti)
    if found is None:
        raise InvalidToken("the access token was revoked", detail="grant gone")
    jti_revoked, grant_record, citizen = found
    if jti_revoked:
        raise InvalidToken("the access token was revoked")
    if grant_record.revoked_at is not None:
        raise InvalidToken("the access token was revoked", detail="grant revoked")
    return claims, grant_record, citizen


def check_binding(claims: dict[str, Any], scheme: str, dpop_jkt: str | None) -> None:
    """RFC 9449 §7.1: a bound token needs the DPoP scheme and a proof by its key; a Bearer token
    must not claim DPoP."""
    bound = (claims.get("cnf") or {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
    if bound is None:
        if scheme != "bearer":
            raise InvalidToken("this access token is not DPoP-bound")
        return
    if scheme != "dpop" or dpop_jkt != bound:
        raise InvalidToken("this access token must be used with a DPoP proof of its key")


def userinfo(
    provider: Provider, token: str, scheme: str = "bearer", proofs: list[str] | None = None, method: str = "GET"
) -> dict[str, Any]:
    """The token is verified before a DPoP proof: which client it was issued to decides how far
    ahead the proof's `iat` may be (`fapi.future_allowance`)."""
    claims, _, citizen = _live_access_token(provider, token)
    dpop_jkt = None
    if scheme == "dpop":
        holder = provider.store.clients.get(str(claims.get("client_id")))
        dpop_jkt = dpop.check_proof(
            provider, proofs or [], method=method, path="/userinfo", access_token=token, client=holder
        )
    check_binding(claims, scheme, dpop_jkt)
    if citizen is None or citizen.status != "active":
        raise InvalidToken("the account is not active")
    return {"sub": claims["sub"], **claims_for(citizen, set(str(claims.get("scope", "")).split()))}


def revoke(provider: Provider, client: ClientRecord, raw: RawParams) -> None:
    """RFC 7009 §2.2: answers the same whether or not the token was known, valid or the client's."""
    params = Params.of(raw)
    token = params.one("token", required=True) or ""
    hint = params.one("token_type_hint")
    now = provider.clock.now()
    order = (
        ("access_token", "refresh_token")
        if hint == "access_token" or token.count(".") == 2
        else ("refresh_token", "access_token")
    )
    for kind in order:
        if kind == "refresh_token":
            record = provider.store.refresh_tokens.find(digest(token))
            if record is not None and record.client_id == client.id:
                provider.store.grants.revoke(record.grant_id, now)
                return
        else:
            try:
                claims = verify(
                    token,
                    provider.keys,
                    typ=TYP_ACCESS_TOKEN,
                    issuer=provider.issuer,
                    audience=provider.issuer,
                    now=now,
                    leeway=provider.settings.clock_leeway,
                )
            except BadToken:
                continue
            if claims.get("client_id") == client.id:
                provider.store.revoked_tokens.add(
                    str(claims["jti"]), int(claims["exp"]) + provider.settings.clock_leeway
                )
                return


def introspect(provider: Provider, caller: ClientRecord, raw: RawParams) -> dict[str, Any]:
    """RFC 7662 §2: whether a token is active, and what it says. Access tokens may be asked about by
    any authenticated client (resource servers register as clients); refresh tokens only by their own."""
    params = Params.of(raw)
    if caller.is_public:
        raise InvalidClient("a public client cannot introspect tokens")  # it proves nothing about itself
    token = params.one("token", required=True) or ""
    now = provider.clock.now()
    if token.count(".") == 2:
        try:
            claims, grant_record = verify_access_token(provider, token)
        except InvalidToken:
            return {"active": False}
        if grant_record is not None and not grant_record.citizen_active:
            return {"active": False}  # a locked account's tokens are dead, even before they expire
        answer: dict[str, Any] = {
            k: claims[k]
            for k in ("scope", "client_id", "sub", "exp", "iat", "iss", "jti", "acr", "amr", "auth_time", "cnf")
            if k in claims
        }
        return {"active": True, "token_type": "DPoP" if "cnf" in claims else "Bearer", "aud": claims["aud"], **answer}
    record = provider.store.refresh_tokens.find(digest(token))
    if record is None or record.client_id != caller.id or record.consumed_at is not None or record.expires_at <= now:
        return {"active": False}
    grant_record = provider.store.grants.get(record.grant_id)
    if grant_record is None or grant_record.revoked_at is not None or not grant_record.citizen_active:
        return {"active": False}
    client = provider.store.clients.get(record.client_id)
    assert client is not None
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": record.scope,
        "client_id": record.client_id,
        "sub": subject_for(provider, grant_record.citizen_id, client),
        "exp": record.expires_at,
        "iss": provider.issuer,
    }
