"""Turning the clients' constructor arguments into a `ClientCore`, identically for both."""

from __future__ import annotations

import dataclasses

from ._core import ClientCore
from ._settings import ClientSettings
from .client_auth import ClientAuth, ClientSecretBasic, NoClientAuth
from .errors import ConfigurationError
from .fapi import FAPI2, check_profile, fapi2_client_auth


def build_core(
    issuer: str, client_id: str, auth: ClientAuth | None, client_secret: str | None, settings: ClientSettings
) -> ClientCore:
    if auth is not None and client_secret is not None:
        raise ConfigurationError("give either auth or client_secret, not both")
    if check_profile(settings.profile) == FAPI2:  # FAPI 2.0 §5.3.2: pushed requests, DPoP-bound tokens
        settings = dataclasses.replace(settings, par=True, dpop=True)
        return ClientCore(issuer, client_id, fapi2_client_auth(auth, client_secret, issuer), settings)
    chosen: ClientAuth
    if auth is not None:
        chosen = auth
    elif client_secret is not None:
        chosen = ClientSecretBasic(client_secret)
    else:
        chosen = NoClientAuth()
    return ClientCore(issuer, client_id, chosen, settings)
