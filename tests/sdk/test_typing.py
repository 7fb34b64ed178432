"""Explicit keyword parameters: `mypy --strict` refuses a misspelt option before the portal runs."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]

PORTAL = """
from postid_client import AsyncPostIDClient

async def start() -> str:
    client = AsyncPostIDClient("https://id.example.vn", "portal", client_secret="s", {option})
    login = await client.start_login({login_option})
    return login.url
"""


def _mypy(tmp_path: Path, option: str, login_option: str) -> tuple[str, int]:
    source = tmp_path / "portal.py"
    source.write_text(PORTAL.format(option=option, login_option=login_option))
    out, _, status = api.run(["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(source)])
    return out, status


def test_a_correct_portal_passes_mypy_strict(tmp_path):
    out, status = _mypy(tmp_path, 'redirect_uri="https://p.vn/cb", dpop=True, par=True', 'scope="openid profile"')

    assert status == 0, out


def test_misspelt_options_fail_mypy_strict(tmp_path):
    out, status = _mypy(tmp_path, 'redirect_url="https://p.vn/cb"', 'scop="openid"')

    assert status == 1
    assert '"redirect_url"' in out and '"scop"' in out
