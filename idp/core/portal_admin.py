"""Portal clients as staff manage them: register, edit, disable, rotate the secret.

Every change goes through a named action with its own fields; nothing is copied from a generic
mapping, so a form or JSON body can never set a column it was not meant to (mass assignment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from idp.core import audit, clients
from idp.core.levels import LOA1, is_level
from idp.core.provider import Provider
from idp.core.scopes import SUPPORTED_SCOPES
from idp.core.staff import Console, require
from idp.core.verification import NotFound
from idp.crypto.keys import SIGNING_ALGS
from idp.errors import ValidationError
from idp.store.records import ClientRecord


@dataclass(frozen=True)
class ClientForm:
    """The fields a console form or API body may carry for a client."""

    name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    backchannel_logout_uri: str | None
    auth_method: str
    scopes: list[str]
    min_level: str
    id_token_alg: str
    jwks: str | None  # JSON text of a JWK Set, for private_key_jwt
    jwks_uri: str | None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ClientForm:
        def text(name: str) -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) else ""

        def many(name: str) -> list[str]:
            value = data.get(name)
            if isinstance(value, list):
                return [str(v).strip() for v in value if str(v).strip()]
            return [v for v in text(name).split() if v]

        return cls(
            name=text("name"),
            redirect_uris=many("redirect_uris"),
            post_logout_redirect_uris=many("post_logout_redirect_uris"),
            backchannel_logout_uri=text("backchannel_logout_uri") or None,
            auth_method=text("auth_method") or "client_secret_basic",
            scopes=many("scopes") or ["openid", "profile"],
            min_level=text("min_level") or LOA1,
            id_token_alg=text("id_token_alg") or "ES256",
            jwks=text("jwks") or None,
            jwks_uri=text("jwks_uri") or None,
        )


def _jwks(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValidationError("jwks", "choice") from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise ValidationError("jwks", "choice")
    if any("d" in k for k in value["keys"] if isinstance(k, dict)):
        raise ValidationError("jwks", "choice")  # a private key must never be registered
    return value


def _check(form: ClientForm) -> None:
    if not is_level(form.min_level):
        raise ValidationError("min_level", "choice")
    if any(s not in SUPPORTED_SCOPES for s in form.scopes):
        raise ValidationError("scope", "choice")


def list_clients(provider: Provider, console: Console) -> list[ClientRecord]:
    require(console.staff, "clients.read")
    return provider.store.client_directory.list()


def get_client(provider: Provider, console: Console, client_id: str) -> ClientRecord:
    require(console.staff, "clients.read")
    client = provider.store.clients.get(client_id) if len(client_id) <= 64 else None
    if client is None:
        raise NotFound()
    return client


def register(provider: Provider, console: Console, form: ClientForm, *, ip: str | None = None) -> clients.NewClient:
    require(console.staff, "clients.write")
    _check(form)
    created = clients.register_client(
        provider,
        name=form.name,
        redirect_uris=form.redirect_uris,
        post_logout_redirect_uris=form.post_logout_redirect_uris,
        auth_method=form.auth_method,
        scopes=form.scopes,
        id_token_alg=form.id_token_alg,
        jwks=_jwks(form.jwks),
        jwks_uri=form.jwks_uri,
        backchannel_logout_uri=form.backchannel_logout_uri,
    )
    if form.min_level != LOA1:
        _save(provider, created.client.id, form)
    audit.record(
        provider,
        action="client.register",
        outcome="success",
        actor=console.actor,
        ip=ip,
        subject=f"client:{created.client.id}",
        client_id=created.client.id,
        detail={"name": created.client.name, "auth_method": created.client.auth_method},
    )
    return clients.NewClient(provider.store.clients.get(created.client.id), created.secret)  # type: ignore[arg-type]


def _save(provider: Provider, client_id: str, form: ClientForm) -> None:
    if not form.name:
        raise ValidationError("name", "required")
    if not form.redirect_uris:
        raise ValidationError("redirect_uri", "required")
    if "openid" not in form.scopes:
        raise ValidationError("scope", "choice")
    if form.id_token_alg not in SIGNING_ALGS:
        raise ValidationError("id_token_alg", "choice")
    provider.store.client_directory.update_settings(
        client_id,
        name=form.name,
        redirect_uris=[clients.check_redirect_uri(u) for u in form.redirect_uris],
        post_logout_redirect_uris=[
            clients.check_redirect_uri(u, "post_logout_redirect_uri") for u in form.post_logout_redirect_uris
        ],
        scopes=form.scopes,
        id_token_alg=form.id_token_alg,
        min_level=form.min_level,
        backchannel_logout_uri=clients.check_redirect_uri(form.backchannel_logout_uri, "backchannel_logout_uri")
        if form.backchannel_logout_uri
        else None,
        jwks=_jwks(form.jwks),
        jwks_uri=clients.check_redirect_uri(form.jwks_uri, "jwks_uri") if form.jwks_uri else None,
    )


def edit(
    provider: Provider, console: Console, client_id: str, form: ClientForm, *, ip: str | None = None
) -> ClientRecord:
    """Names, URIs, scopes, level and keys; never the auth method, secret or status (their own actions)."""
    require(console.staff, "clients.write")
    get_client(provider, console, client_id)
    _check(form)
    _save(provider, client_id, form)
    audit.record(
        provider,
        action="client.edit",
        outcome="success",
        actor=console.actor,
        ip=ip,
        subject=f"client:{client_id}",
        client_id=client_id,
    )
    return provider.store.clients.get(client_id)  # type: ignore[return-value]


def set_disabled(
    provider: Provider, console: Console, client_id: str, disabled: bool, *, ip: str | None = None
) -> None:
    require(console.staff, "clients.write")
    get_client(provider, console, client_id)
    provider.store.client_directory.set_disabled(client_id, disabled)
    audit.record(
        provider,
        action="client.disable" if disabled else "client.enable",
        outcome="success",
        actor=console.actor,
        ip=ip,
        subject=f"client:{client_id}",
        client_id=client_id,
    )


def rotate_secret(provider: Provider, console: Console, client_id: str, *, ip: str | None = None) -> str:
    require(console.staff, "clients.write")
    client = get_client(provider, console, client_id)
    if client.auth_method not in ("client_secret_basic", "client_secret_post"):
        raise ValidationError("auth_method", "choice")
    secret = clients.rotate_secret(provider, client_id)
    audit.record(
        provider,
        action="client.rotate_secret",
        outcome="success",
        actor=console.actor,
        ip=ip,
        subject=f"client:{client_id}",
        client_id=client_id,
    )
    return secret
