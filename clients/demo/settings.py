"""The demo portal's settings, each read from one environment variable with a development default."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DemoSettings"]


@dataclass(frozen=True)
class DemoSettings:
    issuer: str = "http://localhost:8000"
    """POSTID_ISSUER: the provider, exactly as its discovery names itself (`idp serve`'s
    development issuer is http://localhost:PORT: browsers refuse passkeys on an IP-address origin)."""
    client_id: str = "demo-portal"
    """POSTID_CLIENT_ID: as registered with the provider."""
    client_secret: str | None = None
    """POSTID_CLIENT_SECRET: unset means a public client (token endpoint auth `none`)."""
    redirect_uri: str = "http://127.0.0.1:8001/callback"
    """POSTID_REDIRECT_URI: registered with the provider, exact string."""
    host: str = "127.0.0.1"
    """DEMO_HOST"""
    port: int = 8001
    """DEMO_PORT"""
    session_secret: str = ""
    """DEMO_SESSION_SECRET: signs the session cookie; random per start when unset."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DemoSettings:
        defaults = cls()
        return cls(
            issuer=environ.get("POSTID_ISSUER", defaults.issuer),
            client_id=environ.get("POSTID_CLIENT_ID", defaults.client_id),
            client_secret=environ.get("POSTID_CLIENT_SECRET") or None,
            redirect_uri=environ.get("POSTID_REDIRECT_URI", defaults.redirect_uri),
            host=environ.get("DEMO_HOST", defaults.host),
            port=int(environ.get("DEMO_PORT", defaults.port)),
            session_secret=environ.get("DEMO_SESSION_SECRET") or secrets.token_urlsafe(32),
        )
