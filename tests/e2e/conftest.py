"""The provider as a real server: `idp` commands seed it, `idp serve` runs it on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from idp.settings import Settings
from tests.helpers import CITIZEN, free_port, seed_served, serving

IDP = [sys.executable, "-m", "idp.cli"]
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the relying party reads the redirect itself


@dataclass
class RunningProvider:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    id_number: str
    password: str
    env: dict[str, str]


def _idp(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*IDP, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)


@pytest.fixture
def running_provider(
    request: pytest.FixtureRequest, tmp_path: Path, keys_dir: Path, database_url: str
) -> Iterator[RunningProvider]:
    """`@pytest.mark.provider_env(IDP_X="...")` on a test adds settings to the served provider."""
    marker = request.node.get_closest_marker("provider_env")
    provider_extra_env = dict(marker.kwargs) if marker else {}
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    shutil.copytree(keys_dir, tmp_path / "keys")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ISSUER=issuer,
        IDP_DATA_DIR=str(tmp_path / "data"),
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_DATABASE_URL=database_url,
        IDP_PASSWORD_PROFILE="tests",
        IDP_METRICS_ADDRESS="",  # the default port is one per machine; tests run side by side
        **provider_extra_env,
    )
    password = "a long enough test password"
    client_id, client_secret = seed_served(Settings.from_env(env), password, REDIRECT_URI)
    with serving([*IDP, "serve", "--port", str(port)], env, f"{issuer}/.well-known/openid-configuration"):
        yield RunningProvider(issuer, client_id, client_secret, REDIRECT_URI, CITIZEN.id_number, password, env)
