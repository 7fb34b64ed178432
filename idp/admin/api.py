"""The admin JSON API: the console's actions for scripts, under the same guard and permissions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from idp.admin import openapi as admin_openapi
from idp.admin.client_form import client_spec
from idp.admin.guard import Handler, api, csrf_token, json_out, one, query
from idp.admin.pages import audit_filter
from idp.core import audit, counter, disputes, keys, portal_admin, staff, verification
from idp.core.accounts import CitizenDeclaration
from idp.core.staff import Console
from idp.http.offload import core
from idp.http.peer import client_ip
from idp.store.records import CitizenRecord, ClientRecord
from idp.store.verification import VerificationRecord


def _citizen(c: CitizenRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "citizen_id": c.id_number,
        "full_name": c.full_name,
        "birth_date": c.birth_date,
        "sex": c.sex,
        "phone": c.phone,
        "email": c.email,
        "status": c.status,
        "level": c.level,
    }


def _client(c: ClientRecord) -> dict[str, Any]:
    return {
        "client_id": c.id,
        "name": c.name,
        "auth_method": c.auth_method,
        "redirect_uris": list(c.redirect_uris),
        "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
        "scopes": sorted(c.scopes),
        "id_token_alg": c.id_token_alg,
        "disabled": c.disabled,
        "min_level": c.min_level,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "jwks_uri": c.jwks_uri,
        "public": c.is_public,
        "profile": c.profile,
        "require_par": c.require_par,
        "require_dpop": c.require_dpop,
    }


def _verification(v: VerificationRecord) -> dict[str, Any]:
    return {
        "id": v.id,
        "citizen": v.citizen_pk,
        "document_type": v.document_type,
        "status": v.status,
        "recorded_by": v.recorded_by,
        "recorded_at": v.recorded_at,
        "decided_by": v.decided_by,
        "decided_at": v.decided_at,
        "decision_reason": v.decision_reason,
        "note": v.note,
        "kind": v.kind,
        "details": v.details,
        "document_number": v.document_number,
        "account": {name: v.identity.get(name) for name in ("citizen_id", "full_name", "birth_date", "sex")},
        "document": v.recorded_identity,
        "differences": [
            {"field": d.field, "document": d.recorded, "account": d.account} for d in verification.differences(v)
        ],
    }


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


@api(None)
async def session(request: Request, console: Console, body: dict[str, Any]) -> Response:
    if console.is_service:
        return json_out(
            {
                "client_id": console.staff.id,
                "permissions": sorted(p for p in staff.PERMISSIONS if console.can(p)),
                "expires_at": console.session.expires_at,
            }
        )
    return json_out(
        {
            "username": console.staff.username,
            "roles": sorted(console.staff.roles),
            "permissions": sorted(p for p in staff.PERMISSIONS if console.can(p)),
            "csrf_token": csrf_token(request),
            "expires_at": console.session.expires_at,
        }
    )


@api(None)
async def openapi(request: Request, console: Console, body: dict[str, Any]) -> Response:
    from idp.admin import ROUTES

    return json_out(admin_openapi.document(request.app.state.provider.issuer, ROUTES))


@api("citizens.read")
async def citizens(request: Request, console: Console, body: dict[str, Any]) -> Response:
    asked = query(request)
    result = await core(
        verification.search_citizens,
        request.app.state.provider,
        console,
        one(asked, "q"),
        asked.number("page", 1) or 1,
    )
    return json_out(
        {
            "citizens": [_citizen(c) for c in result.citizens],
            "total": result.total,
            "page": result.page,
            "pages": result.pages,
        }
    )


@api("citizens.read")
async def citizen(request: Request, console: Console, body: dict[str, Any]) -> Response:
    d = await core(verification.citizen_detail, request.app.state.provider, console, request.path_params["citizen_pk"])
    return json_out(
        {
            "citizen": _citizen(d.citizen),
            "factors": {"totp": d.has_totp, "recovery_codes_left": d.recovery_codes_left},
            "sessions": [asdict(s) for s in d.sessions],
            "portals": [asdict(p) for p in d.portals],
            "verifications": [_verification(v) for v in d.verifications],
            "activity": [
                {"seq": a.seq, "at": a.at, "action": a.action, "outcome": a.outcome, "actor": a.actor}
                for a in d.activity
            ],
        }
    )


def _citizen_action(action: str) -> Handler:
    @api(verification.CITIZEN_ACTIONS[action])
    async def act(request: Request, console: Console, body: dict[str, Any]) -> Response:
        provider = request.app.state.provider
        pk = request.path_params["citizen_pk"]
        await core(
            verification.act_on_citizen, provider, console, pk, action, _text(body, "reason"), ip=client_ip(request)
        )
        found = await core(provider.store.citizens.get, pk)
        return json_out({"citizen": _citizen(found)})

    return act


lock = _citizen_action("lock")
unlock = _citizen_action("unlock")
reset_authenticator = _citizen_action("reset-authenticator")
end_sessions = _citizen_action("end-sessions")


@api("verification.record")
async def record_check(request: Request, console: Console, body: dict[str, Any]) -> Response:
    record = await core(
        verification.record_check,
        request.app.state.provider,
        console,
        request.path_params["citizen_pk"],
        document_type=_text(body, "document_type"),
        document_number=_text(body, "document_number"),
        full_name=_text(body, "full_name"),
        birth_date=_text(body, "birth_date"),
        sex=_text(body, "sex"),
        data_matches=body.get("data_matches") is True,
        note=_text(body, "note"),
        ip=client_ip(request),
    )
    return json_out({"verification": _verification(record)}, 201)


@api("counter.register")
async def counter_register(request: Request, console: Console, body: dict[str, Any]) -> Response:
    done = await core(
        counter.register_citizen,
        request.app.state.provider,
        console,
        CitizenDeclaration(
            id_number=_text(body, "citizen_id"),
            full_name=_text(body, "full_name"),
            birth_date=_text(body, "birth_date"),
            sex=_text(body, "sex"),
            phone=_text(body, "phone"),
            email=_text(body, "email") or None,
        ),
        document_type=_text(body, "document_type"),
        document_number=_text(body, "document_number"),
        data_matches=body.get("data_matches") is True,
        note=_text(body, "note"),
        ip=client_ip(request),
    )
    return json_out({"citizen": _citizen(done.citizen), "verification": _verification(done.record)}, 201)


def _card(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "document_type": _text(body, "document_type"),
        "document_number": _text(body, "document_number"),
        "full_name": _text(body, "full_name"),
        "birth_date": _text(body, "birth_date"),
        "sex": _text(body, "sex"),
        "data_matches": body.get("data_matches") is True,
        "note": _text(body, "note"),
    }


@api("counter.recover")
async def recovery_record(request: Request, console: Console, body: dict[str, Any]) -> Response:
    record = await core(
        counter.record_recovery,
        request.app.state.provider,
        console,
        request.path_params["citizen_pk"],
        new_phone=_text(body, "phone"),
        ip=client_ip(request),
        **_card(body),
    )
    return json_out({"verification": _verification(record)}, 201)


@api("disputes.record")
async def dispute_record(request: Request, console: Console, body: dict[str, Any]) -> Response:
    record = await core(
        disputes.record_dispute,
        request.app.state.provider,
        console,
        id_number=_text(body, "citizen_id"),
        owner_pk=_text(body, "owner"),
        phone=_text(body, "phone"),
        email=_text(body, "email"),
        ip=client_ip(request),
        **_card(body),
    )
    return json_out({"verification": _verification(record)}, 201)


@api("verification.read")
async def verifications(request: Request, console: Console, body: dict[str, Any]) -> Response:
    records = await core(verification.pending, request.app.state.provider, console)
    return json_out({"verifications": [_verification(v) for v in records]})


@api("verification.decide")
async def approve(request: Request, console: Console, body: dict[str, Any]) -> Response:
    record = await core(
        verification.approve,
        request.app.state.provider,
        console,
        request.path_params["request_id"],
        _text(body, "reason"),
        ip=client_ip(request),
    )
    return json_out({"verification": _verification(record)})


@api("verification.decide")
async def reject(request: Request, console: Console, body: dict[str, Any]) -> Response:
    record = await core(
        verification.reject,
        request.app.state.provider,
        console,
        request.path_params["request_id"],
        _text(body, "reason"),
        ip=client_ip(request),
    )
    return json_out({"verification": _verification(record)})


@api("clients.read")
async def clients(request: Request, console: Console, body: dict[str, Any]) -> Response:
    found = await core(portal_admin.list_clients, request.app.state.provider, console)
    return json_out({"clients": [_client(c) for c in found]})


@api("clients.read")
async def client(request: Request, console: Console, body: dict[str, Any]) -> Response:
    found = await core(portal_admin.get_client, request.app.state.provider, console, request.path_params["client_id"])
    return json_out({"client": _client(found)})


@api("clients.write")
async def client_register(request: Request, console: Console, body: dict[str, Any]) -> Response:
    created = await core(
        portal_admin.register,
        request.app.state.provider,
        console,
        client_spec(body),
        ip=client_ip(request),
    )
    out: dict[str, Any] = {"client": _client(created.client)}
    if created.secret:
        out["client_secret"] = created.secret
    return json_out(out, 201)


@api("clients.write")
async def client_edit(request: Request, console: Console, body: dict[str, Any]) -> Response:
    found = await core(
        portal_admin.edit,
        request.app.state.provider,
        console,
        request.path_params["client_id"],
        client_spec(body),
        ip=client_ip(request),
    )
    return json_out({"client": _client(found)})


@api("clients.write")
async def client_disable(request: Request, console: Console, body: dict[str, Any]) -> Response:
    provider = request.app.state.provider
    client_id = request.path_params["client_id"]
    await core(
        portal_admin.set_disabled,
        provider,
        console,
        client_id,
        body.get("disabled") is not False,
        ip=client_ip(request),
    )
    return json_out({"client": _client(await core(provider.store.clients.get, client_id))})


@api("clients.write")
async def client_rotate_secret(request: Request, console: Console, body: dict[str, Any]) -> Response:
    secret = await core(
        portal_admin.rotate_secret,
        request.app.state.provider,
        console,
        request.path_params["client_id"],
        ip=client_ip(request),
    )
    return json_out({"client_id": request.path_params["client_id"], "client_secret": secret})


@api("keys.read")
async def keys_list(request: Request, console: Console, body: dict[str, Any]) -> Response:
    rows = await core(keys.listing, request.app.state.provider)
    return json_out({"keys": [asdict(k) for k in rows]})


@api("keys.rotate")
async def keys_rotate(request: Request, console: Console, body: dict[str, Any]) -> Response:
    from idp.http.discovery import Published

    provider = request.app.state.provider
    results = await core(keys.rotate, provider, actor=console.actor, ip=client_ip(request))
    request.app.state.published = Published(provider)
    return json_out({"rotated": results})


@api("audit.read")
async def audit_events(request: Request, console: Console, body: dict[str, Any]) -> Response:
    asked = query(request)
    rows = await core(
        audit.search,
        request.app.state.provider,
        audit_filter(asked),
        100,
        asked.number("offset", 0) or 0,
    )
    return json_out(
        {
            "events": [
                {
                    "seq": r.seq,
                    "at": r.at,
                    "action": r.action,
                    "outcome": r.outcome,
                    "actor": r.actor,
                    "subject": r.subject,
                    "client_id": r.client_id,
                    "ip": r.ip,
                    "user_agent": r.user_agent,
                    "detail": r.detail,
                    "hash": r.hash,
                }
                for r in rows
            ]
        }
    )


@api("audit.read")
async def audit_verify(request: Request, console: Console, body: dict[str, Any]) -> Response:
    verdict = await core(audit.verify, request.app.state.provider)
    return json_out(
        {
            "ok": verdict.ok,
            "checked": verdict.checked,
            "checkpoint_seq": verdict.checkpoint_seq,
            "head_seq": verdict.head_seq,
            "first_bad": asdict(verdict.first_bad) if verdict.first_bad else None,
        }
    )
