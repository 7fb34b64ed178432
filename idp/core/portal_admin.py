"""Portal clients as staff manage them: register, edit, disable, rotate the secret.

Every change goes through a named action with its own fields: a form or JSON body becomes a
`ClientSpec` only through `idp.admin.client_form`, which reads named fields, and an edit applies
only `_EDITABLE`, so a body can never set a column it was not meant to (mass assignment).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from idp.core import audit, clients
from idp.core.client_spec import ClientSpec, validate
from idp.core.provider import Provider
from idp.core.staff import ADMIN_SCOPES, Console, require
from idp.core.verification import NotFound
from idp.errors import ValidationError
from idp.store.records import ClientRecord

# What an edit may change; the auth method, grant types, subject and secret have their own actions
# or none, and a spec built from a form carries defaults for them that must not overwrite the client.
_EDITABLE = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "scopes",
    "min_level",
    "id_token_alg",
    "jwks_uri",
)


def list_clients(provider: Provider, console: Console) -> list[ClientRecord]:
    require(console.staff, "clients.read")
    return provider.store.client_directory.list()


def get_client(provider: Provider, console: Console, client_id: str) -> ClientRecord:
    require(console.staff, "clients.read")
    client = provider.store.clients.get(client_id) if len(client_id) <= 64 else None
    if client is None:
        raise NotFound()
    return client


def register(provider: Provider, console: Console, spec: ClientSpec, *, ip: str | None = None) -> clients.NewClient:
    require(console.staff, "clients.write")
    _require_admin_scopes(console, set(spec.scopes))
    created = clients.register_client(provider, spec)
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
    return created


def edit(
    provider: Provider, console: Console, client_id: str, spec: ClientSpec, *, ip: str | None = None
) -> ClientRecord:
    """Names, URIs, scopes, level and keys; never the auth method, secret or status (their own actions).

    An edit that carries no JWKS keeps the registered one: the console's edit form has no JWKS
    field, and saving it once wiped a `private_key_jwt` client's keys."""
    require(console.staff, "clients.write")
    current = ClientSpec.of(get_client(provider, console, client_id))
    changes: dict[str, Any] = {name: getattr(spec, name) for name in _EDITABLE}
    if spec.jwks is not None:
        changes["jwks"] = spec.jwks
    saved = validate(replace(current, **changes), allow_internal_targets=provider.settings.outbound_allow_private)
    _require_admin_scopes(console, set(saved.scopes) - set(current.scopes))
    provider.store.client_directory.update_settings(
        client_id,
        name=saved.name,
        redirect_uris=list(saved.redirect_uris),
        post_logout_redirect_uris=list(saved.post_logout_redirect_uris),
        scopes=list(saved.scopes),
        id_token_alg=saved.id_token_alg,
        min_level=saved.min_level,
        backchannel_logout_uri=saved.backchannel_logout_uri,
        jwks=dict(saved.jwks) if saved.jwks else None,
        jwks_uri=saved.jwks_uri,
    )
    audit.record(
        provider,
        action="client.edit",
        outcome="success",
        actor=console.actor,
        ip=ip,
        subject=f"client:{client_id}",
        client_id=client_id,
    )
    edited = provider.store.clients.get(client_id)
    if edited is None:  # removed between the update and this read
        raise NotFound()
    return edited


def _require_admin_scopes(console: Console, scopes: set[str]) -> None:
    """Staff (or a service token) hand a client only the admin scopes of permissions they hold:
    otherwise `clients.write` would reach every permission, even one the admin role lacks
    (`verification.read`), through a client_credentials client of their own."""
    for permission, scope in ADMIN_SCOPES.items():
        if scope in scopes:
            require(console.staff, permission)


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
