"""Turning the clients' constructor arguments into a `ClientCore`, identically for both."""

from __future__ import annotations

from ._core import ClientCore
from ._settings import ClientSettings
from .client_auth import ClientAuth, ClientSecretBasic, NoClientAuth
from .errors import ConfigurationError


def build_core(
    issuer: str, client_id: str, auth: ClientAuth | None, client_secret: str | None, settings: ClientSettings
) -> ClientCore:
    if auth is not None and client_secret is not None:
        raise ConfigurationError("give either auth or client_secret, not both")
    chosen: ClientAuth
    if auth is not None:
        chosen = auth
    elif client_secret is not None:
        chosen = ClientSecretBasic(client_secret)
    else:
        chosen = NoClientAuth()
    return ClientCore(issuer, client_id, chosen, settings)
