"""The `idp` command as an operator runs it: JSON out, refusals naming the field, exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CITIZEN


@pytest.fixture
def env(tmp_path: Path, keys_dir: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environ.update(
        IDP_DATA_DIR=str(tmp_path / "data"), IDP_KEYS_DIR=str(tmp_path / "keys"), IDP_PASSWORD_PROFILE="tests"
    )
    return environ


def idp(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idp.cli", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_init_creates_the_database_and_keys_and_is_idempotent(env, tmp_path):
    first = idp(env, "init")
    second = idp(env, "init")

    assert first.returncode == second.returncode == 0
    assert len(json.loads(first.stdout)["generated_keys"]) == 2
    assert json.loads(second.stdout)["generated_keys"] == []
    assert (tmp_path / "data" / "idp.sqlite3").exists()


def test_clients_add_prints_the_secret_once_for_a_confidential_client(env):
    idp(env, "init")

    confidential = idp(
        env,
        "clients",
        "add",
        "--name",
        "Portal",
        "--redirect-uri",
        "https://p.example/cb",
        "--redirect-uri",
        "https://p.example/cb2",
    )
    public = idp(
        env, "clients", "add", "--name", "App", "--redirect-uri", "http://127.0.0.1:7000/cb", "--auth-method", "none"
    )

    made = json.loads(confidential.stdout)
    assert made["client_secret"] and made["redirect_uris"] == ["https://p.example/cb", "https://p.example/cb2"]
    assert "client_secret" not in json.loads(public.stdout)


def test_clients_add_refuses_a_plain_http_redirect_uri_off_loopback(env):
    idp(env, "init")

    refused = idp(env, "clients", "add", "--name", "Portal", "--redirect-uri", "http://portal.example/cb")

    assert refused.returncode == 2 and "Redirect URI" in refused.stderr


def test_citizens_add_creates_an_active_citizen_from_a_password_on_stdin(env):
    idp(env, "init")

    added = idp(
        env,
        "citizens",
        "add",
        "--citizen-id",
        CITIZEN.id_number,
        "--name",
        "Trần  Thị Bình",
        "--birth-date",
        CITIZEN.birth_date,
        "--sex",
        CITIZEN.sex,
        "--phone",
        "091.234.5678",
        "--password-stdin",
        stdin="long enough password\n",
    )

    assert added.returncode == 0, added.stderr
    record = json.loads(added.stdout)
    assert record["status"] == "active" and record["phone"] == "+84912345678" and record["full_name"] == "Trần Thị Bình"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"--citizen-id": "00109000012"}, "Citizen ID number"),
        ({"--citizen-id": "001190000123"}, "Citizen ID number"),
        ({"--birth-date": "1990-13-01"}, "Date of birth"),
        ({"--sex": "other"}, "Sex"),
        ({"--phone": "+1 650 555 0100"}, "Phone number"),
    ],
)
def test_citizens_add_refuses_a_bad_value_naming_the_field(env, change, field):
    idp(env, "init")
    values = {
        "--citizen-id": CITIZEN.id_number,
        "--name": CITIZEN.full_name,
        "--birth-date": CITIZEN.birth_date,
        "--sex": CITIZEN.sex,
        "--phone": CITIZEN.phone,
        **change,
    }

    refused = idp(
        env,
        "citizens",
        "add",
        *[x for pair in values.items() for x in pair],
        "--password-stdin",
        stdin="long enough password\n",
    )

    assert refused.returncode == 2 and field in refused.stderr


def test_a_short_password_is_refused(env):
    idp(env, "init")

    refused = idp(
        env,
        "citizens",
        "add",
        "--citizen-id",
        CITIZEN.id_number,
        "--name",
        CITIZEN.full_name,
        "--birth-date",
        CITIZEN.birth_date,
        "--sex",
        CITIZEN.sex,
        "--phone",
        CITIZEN.phone,
        "--password-stdin",
        stdin="short\n",
    )

    assert refused.returncode == 2 and "Password" in refused.stderr


def test_a_bad_setting_stops_the_command_naming_it(env):
    refused = idp({**env, "IDP_ACCESS_TOKEN_TTL": "forever"}, "init")

    assert refused.returncode == 2 and "IDP_ACCESS_TOKEN_TTL" in refused.stderr
