"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS.

Both are built once at start-up and served as bytes with cache headers; `KeyWatch` rebuilds
them when the keys folder changes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from idp.core import dpop
from idp.core.client_spec import AUTH_METHODS
from idp.core.clients import ASSERTION_SIGNING_ALGS
from idp.core.provider import Provider
from idp.core.scopes import ACR_VALUES, SUPPORTED_SCOPES, all_claims
from idp.crypto.keys import SIGNING_ALGS, load_keys
from idp.http.headers import security_headers
from idp.observability import HEADER as REQUEST_ID_HEADER
from idp.observability import LATENCY, REQUESTS, request_id_for

log = logging.getLogger("idp.keys")

CONFIGURATION_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"


def metadata(provider: Provider) -> dict[str, object]:
    issuer = provider.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": False,
        # Exactly what is verified: DPoP proofs from every client (dpop.ALGS); assertions from a
        # FAPI 2.0 client in the first three only, RS256 for other clients (clients.ASSERTION_SIGNING_ALGS).
        "dpop_signing_alg_values_supported": list(dpop.ALGS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGS),
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": all_claims(),
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["vi", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,  # only PAR's request_uri values
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


class Published:
    """The precomputed documents with their complete response headers; rebuilt when keys change."""

    def __init__(self, provider: Provider) -> None:
        common = [
            (b"cache-control", f"public, max-age={provider.settings.jwks_max_age}".encode()),
            (b"access-control-allow-origin", b"*"),
            *security_headers(provider.settings.secure_cookies),
        ]

        def answer(body: bytes, media_type: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
            return body, [(b"content-type", media_type), (b"content-length", str(len(body)).encode()), *common]

        self.responses = {
            CONFIGURATION_PATH: answer(
                json.dumps(metadata(provider), separators=(",", ":")).encode(), b"application/json"
            ),
            JWKS_PATH: answer(provider.keys.jwks_bytes, b"application/jwk-set+json"),
        }


class PublishedDocuments:
    """Serves discovery and the JWKS, outermost, instead of a route: every portal and
    resource server fetches them, and they are the same bytes for everyone. They carry the same
    headers, request id and metrics as any answer, but write no access-log line (no person is
    behind these requests, and at thousands a second the log would be mostly them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._counted = {
            (path, method): (REQUESTS.labels(path, method, "200"), LATENCY.labels(path))
            for path in (CONFIGURATION_PATH, JWKS_PATH)
            for method in ("GET", "HEAD")
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in (CONFIGURATION_PATH, JWKS_PATH):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": b"Method Not Allowed"})
            return
        started = time.perf_counter()
        body, headers = scope["app"].state.published.responses[path]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*headers, (REQUEST_ID_HEADER, request_id_for(scope).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
        requests, latency = self._counted[path, scope["method"]]
        requests.inc()
        latency.observe(time.perf_counter() - started)


def keys_fingerprint(keys_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, modification times and sizes of the key files: cheap to read, changes on any rotation."""
    found = []
    for path in keys_dir.glob("*.pem"):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


class KeyWatch:
    """Notices key files added to or removed from the keys folder (by any machine sharing it) and
    swaps in the new key ring and documents, without a restart and off the request path.

    A background task calls `check()` every few seconds; it only stats the folder unless
    something changed. A folder that does not load (a half-written file, a missing algorithm)
    keeps the old keys and is tried again at the next tick. Write key files atomically (write
    under another name, then rename to `*.pem`).
    """

    REQUIRED = SIGNING_ALGS

    def __init__(self, state: State, provider: Provider) -> None:
        self._state = state
        self._provider = provider
        self.fingerprint = keys_fingerprint(provider.settings.keys_dir)

    def check(self) -> bool:
        """Reload when the folder changed; True when new keys were put in place."""
        keys_dir = self._provider.settings.keys_dir
        fingerprint = keys_fingerprint(keys_dir)
        if fingerprint == self.fingerprint:
            return False
        try:
            ring = load_keys(keys_dir)
            for alg in self.REQUIRED:
                ring.signer(alg)
        except Exception as exc:
            log.warning("the keys folder changed but does not load; keeping the current keys: %s", exc)
            return False
        self._provider.keys = ring
        self._state.published = Published(self._provider)
        self.fingerprint = fingerprint
        log.info("signing keys reloaded", extra={"kids": " ".join(sorted(k.kid for k in ring.keys))})
        return True
