"""The staff console's server-rendered pages (every form carries the CSRF token). No script, but
on the passkey pages under /admin/passkeys: our own /static/passkeys.js (`idp.http.headers`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from idp.admin.client_form import client_spec
from idp.admin.guard import (
    Handler,
    console_of,
    drop_pending_cookie,
    drop_session_cookie,
    language,
    one,
    page,
    pending_name,
    put_pending_cookie,
    put_session_cookie,
    query,
    refused_page,
    render,
    see_other,
    templates,
)
from idp.admin.words import say
from idp.core import audit, counter, disputes, keys, portal_admin, secret_handoff, staff, staff_passkeys, verification
from idp.core.accounts import CitizenDeclaration
from idp.core.client_spec import GRANT_TYPES, PROFILES
from idp.core.levels import LEVELS, LOA2
from idp.core.params import Params
from idp.core.policy import DEVICE_TTL
from idp.core.staff import Console
from idp.crypto.keys import SIGNING_ALGS
from idp.errors import Refusal
from idp.http import cookies, csrf, guard
from idp.http.offload import core, password_work
from idp.http.peer import client_ip


@pass_context
def _when(context: Mapping[str, Any], epoch: int | float | None) -> str:
    """Staff read times as citizens do, day first on the service's clock (IDP_TIMEZONE), to the
    second for the audit trail, with the offset named since a trail is compared across systems."""
    if epoch is None:
        return ""
    zone = ZoneInfo(context["request"].app.state.provider.settings.timezone)
    moment = datetime.fromtimestamp(float(epoch), UTC).astimezone(zone)
    offset = moment.strftime("%z")  # +0700
    hours_only = offset[3:] == "00"
    return moment.strftime("%d/%m/%Y %H:%M:%S") + f" (UTC{offset[:3]}{'' if hours_only else ':' + offset[3:]})"


templates.env.filters["when"] = _when
templates.env.globals["levels"] = LEVELS  # the pickers on the client forms
templates.env.globals["signing_algs"] = SIGNING_ALGS
templates.env.globals["verified_level"] = LOA2  # what the desk raises an account to
templates.env.globals["grant_types"] = GRANT_TYPES
templates.env.globals["profiles"] = PROFILES


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:300]


async def login_form(request: Request) -> Response:
    if await console_of(request) is not None:
        return see_other("/")
    token, new_cookie = csrf.token_for(request)
    return csrf.remember(request, render(request, "login.html", None, csrf_token=token), new_cookie)


def _login_csrf_refused(request: Request, _: None) -> Response:
    message = say(language(request), "refused.csrf")
    return render(request, "message.html", None, 403, title_key="refused.title", message=message)


def _login_refused(request: Request, status: int, key: str) -> Response:
    token, new_cookie = csrf.token_for(request)
    response = render(request, "login.html", None, status, csrf_token=token, error=say(language(request), key))
    drop_pending_cookie(request, response)
    return csrf.remember(request, response, new_cookie)


def _logged_in(request: Request, done: staff.StaffLogin) -> Response:
    settings = request.app.state.provider.settings
    response = see_other("/")
    put_session_cookie(request, response, done.cookie_value)
    drop_pending_cookie(request, response)
    cookies.put(response, settings, cookies.device_name(settings), done.device_cookie, DEVICE_TTL)
    return response


def _device(request: Request) -> str | None:
    return request.cookies.get(cookies.device_name(request.app.state.provider.settings))


@guard.form(guard.form_cookie, refused=_login_csrf_refused)
async def login(request: Request, form: Params, _: None) -> Response:
    """Password and code, or password alone and the passkey on the next page."""
    provider = request.app.state.provider
    try:
        done = await password_work(
            request,
            staff.sign_in,
            provider,
            one(form, "username"),
            one(form, "password"),
            one(form, "code"),
            ip=client_ip(request),
            user_agent=_agent(request),
            device=_device(request),
        )
    except staff.PasskeyRequired:
        return _login_refused(request, 401, "login.passkey_required")
    except staff.StaffLoginFailed:
        return _login_refused(request, 401, "login.failed")
    if isinstance(done, staff.PasskeyStep):
        response = see_other("/passkeys/first" if done.enrol else "/passkeys/login")
        put_pending_cookie(request, response, done.pending, staff_passkeys.PENDING_TTL)
        return response
    return _logged_in(request, done)


@page(None)
async def logout(request: Request, console: Console, form: Params) -> Response:
    await core(staff.logout, request.app.state.provider, console, ip=client_ip(request))
    response = see_other("/login")
    drop_session_cookie(request, response)
    return response


@page(None)
async def home(request: Request, console: Console, form: Params) -> Response:
    return render(request, "home.html", console, permissions=[p for p in staff.PERMISSIONS if console.can(p)])


# -- citizens -------------------------------------------------------------------------------------


@page("citizens.read")
async def citizens(request: Request, console: Console, form: Params) -> Response:
    asked = query(request)
    text, page_no = one(asked, "q"), asked.number("page", 1) or 1
    result = await core(verification.search_citizens, request.app.state.provider, console, text, page_no)
    return render(request, "citizens.html", console, q=text, result=result)


@page("citizens.read")
async def citizen(request: Request, console: Console, form: Params) -> Response:
    detail = await core(
        verification.citizen_detail, request.app.state.provider, console, request.path_params["citizen_pk"]
    )
    return render(
        request,
        "citizen.html",
        console,
        d=detail,
        document_types=verification.DOCUMENT_TYPES,
        notice=one(query(request), "notice"),
    )


def _citizen_action(action: str) -> Handler:
    @page(verification.CITIZEN_ACTIONS[action])
    async def act(request: Request, console: Console, form: Params) -> Response:
        pk = request.path_params["citizen_pk"]
        await core(
            verification.act_on_citizen,
            request.app.state.provider,
            console,
            pk,
            action,
            one(form, "reason"),
            ip=client_ip(request),
        )
        return see_other(f"/citizens/{pk}?notice={action}")

    return act


lock = _citizen_action("lock")
unlock = _citizen_action("unlock")
reset_authenticator = _citizen_action("reset-authenticator")
end_sessions = _citizen_action("end-sessions")


# -- verification desk ---------------------------------------------------------------------------


@page("verification.record")
async def record_check(request: Request, console: Console, form: Params) -> Response:
    pk = request.path_params["citizen_pk"]
    await core(
        verification.record_check,
        request.app.state.provider,
        console,
        pk,
        document_type=one(form, "document_type"),
        document_number=one(form, "document_number"),
        full_name=one(form, "full_name"),
        birth_date=one(form, "birth_date"),
        sex=one(form, "sex"),
        data_matches=one(form, "data_matches") == "yes",
        note=one(form, "note"),
        ip=client_ip(request),
    )
    return see_other(f"/citizens/{pk}?notice=recorded")


@page("verification.read")
async def desk(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    records = await core(verification.pending, provider, console)
    names = {}
    for record in records:
        names[record.recorded_by] = await core(provider.store.staff.get, record.recorded_by)
    return render(
        request,
        "desk.html",
        console,
        records=records,
        recorders=names,
        differences={r.id: verification.differences(r) for r in records},
        expires={r.id: verification.expires_at(provider, r) for r in records},
        notice=one(query(request), "notice"),
    )


@page("verification.decide")
async def decide(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    request_id = request.path_params["request_id"]
    if one(form, "decision") == "approve":
        await core(verification.approve, provider, console, request_id, one(form, "reason"), ip=client_ip(request))
        return see_other("/desk?notice=approved")
    await core(verification.reject, provider, console, request_id, one(form, "reason"), ip=client_ip(request))
    return see_other("/desk?notice=rejected")


# -- the counter: registration, recovery, disputes ------------------------------------------------


def _card(form: Params) -> dict[str, object]:
    return {
        "document_type": one(form, "document_type"),
        "document_number": one(form, "document_number"),
        "full_name": one(form, "full_name"),
        "birth_date": one(form, "birth_date"),
        "sex": one(form, "sex"),
        "data_matches": one(form, "data_matches") == "yes",
        "note": one(form, "note"),
    }


@page("counter.register")
async def counter_home(request: Request, console: Console, form: Params) -> Response:
    return render(
        request,
        "counter.html",
        console,
        document_types=verification.DOCUMENT_TYPES,
        notice=one(query(request), "notice"),
    )


@page("counter.register")
async def counter_register(request: Request, console: Console, form: Params) -> Response:
    done = await core(
        counter.register_citizen,
        request.app.state.provider,
        console,
        CitizenDeclaration(
            id_number=one(form, "citizen_id"),
            full_name=one(form, "full_name"),
            birth_date=one(form, "birth_date"),
            sex=one(form, "sex"),
            phone=one(form, "phone"),
            email=one(form, "email") or None,
        ),
        document_type=one(form, "document_type"),
        document_number=one(form, "document_number"),
        data_matches=one(form, "data_matches") == "yes",
        note=one(form, "note"),
        ip=client_ip(request),
    )
    return see_other(f"/citizens/{done.citizen.id}?notice=registered")


@page("counter.recover")
async def recovery_record(request: Request, console: Console, form: Params) -> Response:
    pk = request.path_params["citizen_pk"]
    await core(
        counter.record_recovery,
        request.app.state.provider,
        console,
        pk,
        new_phone=one(form, "phone"),
        ip=client_ip(request),
        **_card(form),
    )
    return see_other(f"/citizens/{pk}?notice=recovery-recorded")


@page("disputes.record")
async def dispute_record(request: Request, console: Console, form: Params) -> Response:
    await core(
        disputes.record_dispute,
        request.app.state.provider,
        console,
        id_number=one(form, "citizen_id"),
        owner_pk=one(form, "owner"),
        phone=one(form, "phone"),
        email=one(form, "email"),
        ip=client_ip(request),
        **_card(form),
    )
    return see_other("/desk?notice=dispute-recorded")


# -- portal clients ------------------------------------------------------------------------------


@page("clients.read")
async def clients(request: Request, console: Console, form: Params) -> Response:
    found = await core(portal_admin.list_clients, request.app.state.provider, console)
    return render(request, "clients.html", console, clients=found)


def _form_mapping(form: Params) -> dict[str, object]:
    return {name: "\n".join(values) for name, values in form.items() if name != "csrf_token"}


@page("clients.write")
async def client_register(request: Request, console: Console, form: Params) -> Response:
    created = await core(
        portal_admin.register,
        request.app.state.provider,
        console,
        client_spec(_form_mapping(form)),
        ip=client_ip(request),
    )
    return _to_the_secret(request, console, created.client.id, created.secret)


def _to_the_secret(request: Request, console: Console, client_id: str, secret: str | None) -> Response:
    """Post/redirect/get: the secret waits server-side for the page that shows it once, so a
    reload of that page never posts again (a second portal, a second rotation)."""
    if secret is None:
        return see_other(f"/clients/{client_id}?notice=client-registered")
    handoff = secret_handoff.park(request.app.state.provider, console, client_id, secret)
    return see_other(f"/clients/{client_id}/secret?{urlencode({'handoff': handoff})}")


@page("clients.write")
async def client_secret(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    client_id = request.path_params["client_id"]
    found = await core(portal_admin.get_client, provider, console, client_id)
    secret = await core(secret_handoff.take, provider, console, client_id, one(query(request), "handoff"))
    return render(
        request,
        "secret.html",
        console,
        client=found,
        secret=secret,
        shown=found.auth_method in ("client_secret_basic", "client_secret_post"),
    )


@page("clients.read")
async def client(request: Request, console: Console, form: Params) -> Response:
    found = await core(portal_admin.get_client, request.app.state.provider, console, request.path_params["client_id"])
    return render(request, "client.html", console, client=found, notice=one(query(request), "notice"))


@page("clients.write")
async def client_edit(request: Request, console: Console, form: Params) -> Response:
    client_id = request.path_params["client_id"]
    await core(
        portal_admin.edit,
        request.app.state.provider,
        console,
        client_id,
        client_spec(_form_mapping(form)),
        ip=client_ip(request),
    )
    return see_other(f"/clients/{client_id}?notice=saved")


@page("clients.write")
async def client_disable(request: Request, console: Console, form: Params) -> Response:
    client_id = request.path_params["client_id"]
    await core(
        portal_admin.set_disabled,
        request.app.state.provider,
        console,
        client_id,
        one(form, "disabled") != "no",
        ip=client_ip(request),
    )
    return see_other(f"/clients/{client_id}?notice=status")


@page("clients.write")
async def client_rotate_secret(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    client_id = request.path_params["client_id"]
    secret = await core(portal_admin.rotate_secret, provider, console, client_id, ip=client_ip(request))
    return _to_the_secret(request, console, client_id, secret)


# -- keys and audit ------------------------------------------------------------------------------


@page("keys.read")
async def keys_list(request: Request, console: Console, form: Params) -> Response:
    rows = await core(keys.listing, request.app.state.provider)
    return render(request, "keys.html", console, keys=rows, notice=one(query(request), "notice"))


@page("keys.rotate")
async def keys_rotate(request: Request, console: Console, form: Params) -> Response:
    from idp.http.discovery import Published

    provider = request.app.state.provider
    await core(keys.rotate, provider, actor=console.actor, ip=client_ip(request))
    request.app.state.published = Published(provider)
    return see_other("/keys?notice=rotated")


def audit_filter(params: Params) -> audit.AuditFilter:
    number = params.number
    return audit.AuditFilter(
        action=params.one("action") or None,
        actor=params.one("actor") or None,
        subject=params.one("subject") or None,
        outcome=params.one("outcome") or None,
        since=number("since"),
        until=number("until"),
    )


@page("audit.read")
async def audit_list(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    where = audit_filter(query(request))
    rows = await core(audit.search, provider, where, 100)
    verdict = await core(audit.verify, provider) if one(query(request), "verify") else None
    return render(
        request, "audit.html", console, rows=rows, where=where, verdict=verdict, query=str(request.query_params)
    )


@page("audit.read")
async def audit_export(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    asked = query(request)
    where = audit_filter(asked)
    fmt = one(asked, "format") or "jsonl"
    await core(
        audit.record,
        provider,
        action="audit.export",
        outcome="success",
        actor=console.actor,
        ip=client_ip(request),
        detail={"format": fmt},
    )
    if fmt == "csv":
        lines = list(await core(lambda: list(audit.export_csv(provider, where))))
        media, name = "text/csv; charset=utf-8", "audit.csv"
    else:
        lines = list(await core(lambda: list(audit.export_jsonl(provider, where))))
        media, name = "application/x-ndjson", "audit.jsonl"
    return StreamingResponse(
        iter(lines),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# -- passkeys: the login's second step, "my security", and the staff list -------------------------


async def _pending_of(request: Request) -> staff_passkeys.Pending | None:
    return await core(staff_passkeys.pending, request.app.state.provider, request.cookies.get(pending_name(request)))


async def _pending_gate(request: Request) -> guard.Bound[staff_passkeys.Pending | None] | Response:
    """The passkey step's forms are bound to the parked password step's cookie; without one, the
    login page (a step that expired or was spent is told apart by the handler)."""
    value = request.cookies.get(pending_name(request))
    if not value:
        return see_other("/login")
    return guard.Bound(value, csrf.STAFF, await _pending_of(request))


def _pending_csrf_refused(request: Request, _: object) -> Response:
    return _login_refused(request, 403, "refused.csrf")


def _options_json(options: dict[str, Any]) -> str:
    return json.dumps(options, separators=(",", ":"))


async def passkey_login_form(request: Request) -> Response:
    parked = await _pending_of(request)
    if parked is None or parked.purpose != "login":
        response = see_other("/login")
        drop_pending_cookie(request, response)
        return response
    options = await core(staff_passkeys.begin_login, request.app.state.provider, parked)
    return render(
        request,
        "passkey_login.html",
        None,
        csrf_token=csrf.token(parked.token, csrf.STAFF),
        passkey_options=_options_json(options),
    )


@guard.form(_pending_gate, refused=_pending_csrf_refused)
async def passkey_login(request: Request, form: Params, _: object) -> Response:
    try:
        done = await core(
            staff.finish_passkey_login,
            request.app.state.provider,
            request.cookies.get(pending_name(request)),
            one(form, "credential"),
            ip=client_ip(request),
            user_agent=_agent(request),
            device=_device(request),
        )
    except staff.StaffLoginFailed:
        return _login_refused(request, 401, "login.failed")
    return _logged_in(request, done)


async def first_passkey_form(request: Request) -> Response:
    parked = await _pending_of(request)
    if parked is None or parked.purpose != "enrol":
        response = see_other("/login")
        drop_pending_cookie(request, response)
        return response
    options = await core(staff_passkeys.begin_first_enrolment, request.app.state.provider, parked)
    return render(
        request,
        "passkey_first.html",
        None,
        csrf_token=csrf.token(parked.token, csrf.STAFF),
        passkey_options=_options_json(options),
    )


@guard.form(_pending_gate, refused=_pending_csrf_refused)
async def first_passkey(request: Request, form: Params, parked: staff_passkeys.Pending | None) -> Response:
    if parked is None:
        return _login_refused(request, 401, "login.failed")
    try:
        await core(
            staff_passkeys.finish_first_enrolment,
            request.app.state.provider,
            parked,
            one(form, "name"),
            one(form, "credential"),
        )
    except Refusal as exc:
        response = refused_page(request, None, exc)
        drop_pending_cookie(request, response)
        return response
    token, new_cookie = csrf.token_for(request)
    response = render(request, "login.html", None, csrf_token=token, notice="passkey-first")
    drop_pending_cookie(request, response)
    return csrf.remember(request, response, new_cookie)


@page(None)
async def my_security(request: Request, console: Console, form: Params) -> Response:
    """The member's passkeys; the add form (its challenge bound to this session) only while the
    console login is recent, since adding one is what a stolen session would want most."""
    provider = request.app.state.provider
    recent = staff_passkeys.is_recent(provider, console.session)
    options = ""
    if recent:
        try:
            made = await core(staff_passkeys.begin_enrolment, provider, console.staff, console.session)
            options = _options_json(made)
        except staff_passkeys.TooManyPasskeys:
            options = ""
    return render(
        request,
        "security.html",
        console,
        passkeys=await core(staff_passkeys.listed, provider, console.staff.id),
        recent=recent,
        passkey_options=options,
        notice=one(query(request), "notice"),
    )


@page(None)
async def passkey_add(request: Request, console: Console, form: Params) -> Response:
    await core(
        staff_passkeys.finish_enrolment,
        request.app.state.provider,
        console.staff,
        console.session,
        one(form, "name"),
        one(form, "credential"),
    )
    return see_other("/passkeys?notice=passkey-added")


@page(None)
async def passkey_remove(request: Request, console: Console, form: Params) -> Response:
    await core(
        staff_passkeys.remove_own,
        request.app.state.provider,
        console.staff,
        console.session,
        one(form, "credential_id"),
    )
    return see_other("/passkeys?notice=passkey-removed")


@page("staff.read")
async def staff_list(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    members = await core(provider.store.staff.list)
    held = {m.id: await core(staff_passkeys.listed, provider, m.id) for m in members}
    return render(request, "staff.html", console, members=members, held=held, notice=one(query(request), "notice"))


@page("staff.passkeys.remove")
async def staff_passkey_remove(request: Request, console: Console, form: Params) -> Response:
    provider = request.app.state.provider
    target = await core(provider.store.staff.get, request.path_params["staff_id"])
    if target is None:
        raise verification.NotFound()
    await core(staff_passkeys.remove_for, provider, target, one(form, "credential_id"), console.actor)
    return see_other("/staff?notice=staff-passkey-removed")
