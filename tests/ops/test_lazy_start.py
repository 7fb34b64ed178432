"""A provider starts without what only some requests need (start-up under a second): the WebAuthn
library waits for the first passkey ceremony, the CA bundle for the first request to a portal, the
staff console for the first request under /admin, and Jinja2 for the first page."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from idp.bootstrap import initialise
from idp.settings import Settings

START_AND_ASK = """
import gc, json, ssl, sys
from starlette.testclient import TestClient
from idp.app import app_from_env
with TestClient(app_from_env()) as client:
    ready = client.get("/readyz").status_code
    if sys.argv[1] == "ceremony":
        from idp.crypto.passkeys import authentication_options
        options = authentication_options(rp_id="localhost", challenge=b"c" * 32, allow=[])
        login = options["userVerification"]
    else:
        login = client.get(sys.argv[1]).status_code
print(json.dumps({
    "ready": ready,
    "login": login,
    "loaded": sorted(m for m in sys.argv[2].split(",") if m in sys.modules),
    "tls_contexts": sum(isinstance(o, ssl.SSLContext) for o in gc.get_objects()),
}))
"""

LAZY = ("webauthn", "cbor2", "pyasn1", "alembic", "qrcode", "jinja2", "idp.admin")


@pytest.fixture
def served_env(settings: Settings) -> dict[str, str]:
    initialise(settings)
    return {
        "IDP_ISSUER": settings.issuer,
        "IDP_DATABASE_URL": settings.effective_database_url,
        "IDP_DATA_DIR": str(settings.data_dir),
        "IDP_KEYS_DIR": str(settings.keys_dir),
        "IDP_PASSWORD_PROFILE": "tests",
        "IDP_METRICS_ADDRESS": "",
        "IDP_HOUSEKEEPING_INTERVAL": "0",
    }


def _start(env: dict[str, str], path: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", START_AND_ASK, path, ",".join(LAZY)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_started_provider_has_loaded_neither_webauthn_the_console_jinja2_nor_a_tls_context(served_env):
    started = _start(served_env, "/.well-known/openid-configuration")

    assert started["ready"] == 200
    assert started["loaded"] == []
    assert started["tls_contexts"] == 0


def test_the_first_passkey_ceremony_loads_the_webauthn_library(served_env):
    started = _start(served_env, "ceremony")

    assert started["login"] == "required"
    assert "webauthn" in started["loaded"]


def test_the_first_console_request_loads_the_console_and_answers_its_login_page(served_env):
    started = _start(served_env, "/admin/login")

    assert started["login"] == 200
    assert {"idp.admin", "jinja2"} <= set(started["loaded"])  # type: ignore[arg-type]


def test_the_first_citizen_page_loads_jinja2_and_renders(served_env):
    started = _start(served_env, "/privacy")

    assert started["login"] == 200
    assert started["loaded"] == ["jinja2"]
