"""`idp serve --demo` keeps its credentials: a restart must not change the secret a running demo
portal was started with (it failed with no hint), and `--rotate-demo` is the one way to new ones."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator

import pytest

from idp.bootstrap import open_provider
from idp.core.clients import ClientCredentials, authenticate_client
from idp.demo import CREDENTIALS_FILE, DEMO_CITIZEN, DEMO_CLIENT_ID, seed
from idp.errors import InvalidClient


@pytest.fixture
def provider(settings, clock) -> Iterator[object]:
    """As `idp serve --demo` opens it: the demo portal's back-channel URI is on 127.0.0.1."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    opened = open_provider(settings.with_overrides(outbound_allow_private=True), clock=clock)
    yield opened
    opened.store.close()


def _credentials(banner: str) -> tuple[str, str]:
    secret = re.search(r"portal client_secret (\S+)", banner)
    password = re.search(r"citizen password\s+(\S+)", banner)
    assert secret and password, banner
    return secret.group(1), password.group(1)


def _opens(provider, secret: str, password: str) -> tuple[bool, bool]:
    try:
        authenticate_client(provider, ClientCredentials(DEMO_CLIENT_ID, secret, "client_secret_basic"))
        client_ok = True
    except InvalidClient:
        client_ok = False
    found = provider.store.citizens.find_for_login(DEMO_CITIZEN.id_number, None)
    return client_ok, bool(found and provider.passwords.verify(found[1], password))


def test_a_restart_keeps_the_demo_secret_and_password(provider):
    first = _credentials(seed(provider))

    again = seed(provider)

    assert _credentials(again) == first and "kept from the last start" in again
    assert _opens(provider, *first) == (True, True)


def test_the_credentials_file_is_private_to_the_owner(provider):
    seed(provider)

    path = provider.settings.data_dir / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == {"client_secret", "citizen_password"}


def test_rotating_makes_new_credentials_and_the_old_ones_stop_working(provider):
    old = _credentials(seed(provider))

    new = _credentials(seed(provider, rotate=True))

    assert new[0] != old[0] and new[1] != old[1]
    assert _opens(provider, *old) == (False, False) and _opens(provider, *new) == (True, True)
    assert _credentials(seed(provider)) == new


def test_a_lost_or_stale_credentials_file_gives_new_credentials_that_work(provider):
    old = _credentials(seed(provider))
    path = provider.settings.data_dir / CREDENTIALS_FILE
    path.write_text(json.dumps({"client_secret": "not the secret", "citizen_password": "not the password"}))

    new = _credentials(seed(provider))

    assert new[0] != old[0] and _opens(provider, *new) == (True, True)


def test_the_banners_demo_portal_command_names_a_module_that_runs(provider, tmp_path):
    """The banner told newcomers to run `python -m clients.demo`, which the SDK's rename broke."""
    import subprocess
    import sys

    module = re.search(r"python -m (\S+)", seed(provider)).group(1)
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert "--mock" in done.stdout
