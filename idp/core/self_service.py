"""What a citizen can do on their own account page, once logged in."""

from __future__ import annotations

from dataclasses import dataclass

from idp.core import audit, factors, flows, notify, otp
from idp.core.authn import confirm_password
from idp.core.identity import normalize_phone
from idp.core.provider import Provider
from idp.crypto.totp import provisioning_uri, qr_svg
from idp.errors import ValidationError
from idp.i18n import t
from idp.store.records import CitizenRecord, Conflict

PHONE_CHANGE = "citizen.phone_change.password"


@dataclass(frozen=True)
class ConnectedService:
    """A portal the citizen allowed: what it receives and when it last signed them in."""

    client_id: str
    name: str
    scopes: tuple[str, ...]
    last_sign_in: int | None


@dataclass(frozen=True)
class Overview:
    citizen: CitizenRecord
    has_totp: bool
    recovery_codes_left: int
    connected: tuple[ConnectedService, ...]
    passkeys: tuple[PasskeyView, ...] = ()


@dataclass(frozen=True)
class PasskeyView:
    """A passkey as its owner sees it in the list: never the key."""

    credential_id: str
    name: str
    created_at: int
    last_used_at: int | None


def connected_services(provider: Provider, citizen_id: str) -> tuple[ConnectedService, ...]:
    last: dict[str, int] = {}
    for grant in provider.store.grants.for_citizen(citizen_id):
        last.setdefault(grant.client_id, grant.created_at)
    services = []
    for client_id, scopes, _ in provider.store.consents.for_citizen(citizen_id):
        client = provider.store.clients.get(client_id)
        if client is not None:
            services.append(ConnectedService(client_id, client.name, tuple(sorted(scopes)), last.get(client_id)))
    return tuple(sorted(services, key=lambda s: -(s.last_sign_in or 0)))


def withdraw(provider: Provider, citizen_id: str, client_id: str) -> bool:
    """The portal loses the consent and every token it holds for the citizen, at once."""
    withdrawn = provider.store.consents.withdraw(citizen_id, client_id)
    provider.store.grants.revoke_all_for(citizen_id, provider.clock.now(), client_id=client_id)
    audit.record(
        provider,
        action="consent.withdrawn",
        outcome="success" if withdrawn else "failure",
        actor=f"citizen:{citizen_id}",
        subject=f"citizen:{citizen_id}",
        client_id=client_id[:64],
    )
    return withdrawn


def overview(provider: Provider, citizen_id: str) -> Overview | None:
    citizen = provider.store.citizens.get(citizen_id)
    if citizen is None:
        return None
    return Overview(
        citizen,
        factors.has_totp(provider, citizen_id),
        provider.store.recovery_codes.remaining(citizen_id),
        connected_services(provider, citizen_id),
        tuple(
            PasskeyView(p.credential_id, p.name, p.created_at, p.last_used_at)
            for p in provider.store.passkeys.of(citizen_id)
        ),
    )


def pending_enrolment(provider: Provider, citizen: CitizenRecord) -> factors.Enrolment | None:
    """The unconfirmed authenticator being set up, to show its QR code again after a wrong code."""
    record = provider.store.authenticators.get(citizen.id)
    if record is None or record.confirmed_at is not None:
        return None
    secret = provider.secrets.unseal(record.secret_sealed, citizen.id)
    uri = provisioning_uri(secret, factors.totp_label(citizen), "PostID")
    return factors.Enrolment(secret, uri, qr_svg(uri))


def start_phone_change(
    provider: Provider,
    citizen: CitizenRecord,
    password: str,
    new_phone: str,
    *,
    client_ip: str,
    lang: str,
    device: str | None = None,
) -> flows.StartedFlow:
    """The password again (under the login limiter), then a code to the *new* number proves it."""
    confirm_password(provider, citizen.id, password, client_ip, action=PHONE_CHANGE, device=device)
    phone = normalize_phone(new_phone)
    if phone == citizen.phone:
        raise ValidationError("phone", "same_phone")
    started = flows.start(provider, "phone_change", citizen.id, {"phone": phone})
    otp.send_code(
        provider,
        citizen_id=citizen.id,
        purpose="phone_change",
        destination=phone,
        flow_id=started.flow_id,
        client_ip=client_ip,
        lang=lang,
        owner=True,  # signed in, password proven again
    )
    return started


def finish_phone_change(
    provider: Provider, citizen: CitizenRecord, flow_id: str, secret: str | None, code: str, lang: str
) -> str:
    flow = flows.load(provider, flow_id, secret, "phone_change")
    if flow.citizen_id != citizen.id:
        raise flows.FlowGone()
    otp.verify_code(provider, citizen_id=citizen.id, purpose="phone_change", flow_id=flow.id, code=code)
    new_phone = str(flow.data["phone"])
    now = provider.clock.now()
    try:
        provider.store.citizens.set_phone(citizen.id, new_phone, now)
    except Conflict:
        raise ValidationError("phone", "taken") from None
    provider.store.flows.complete(flow.id, now)
    notify.send(provider, channel="sms", to=citizen.phone, purpose="notice", text=t(lang, "sms.notice.phone_changed"))
    audit.record(
        provider,
        action="citizen.phone_changed",
        outcome="success",
        actor=f"citizen:{citizen.id}",
        subject=f"citizen:{citizen.id}",
    )
    return new_phone
