"""Settings: a bad value stops start-up with the setting's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.errors import SettingsError
from idp.settings import Settings, documented_settings


def test_defaults_are_a_loopback_development_set_up():
    settings = Settings.from_env({})

    assert settings.issuer == "http://localhost:8000" and settings.is_development  # passkeys need a host name
    assert settings.effective_database_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    "env, name",
    [
        ({"IDP_ISSUER": "http://idp.example.gov.vn"}, "IDP_ISSUER"),
        ({"IDP_ISSUER": "https://idp.example/?x=1"}, "IDP_ISSUER"),
        ({"IDP_ISSUER": "idp.example"}, "IDP_ISSUER"),
        ({"IDP_ACCESS_TOKEN_TTL": "abc"}, "IDP_ACCESS_TOKEN_TTL"),
        ({"IDP_ACCESS_TOKEN_TTL": "86400"}, "IDP_ACCESS_TOKEN_TTL"),
        ({"IDP_DATABASE_URL": "mysql://x"}, "IDP_DATABASE_URL"),
        ({"IDP_PASSWORD_PROFILE": "fast"}, "IDP_PASSWORD_PROFILE"),
        ({"IDP_SESSION_IDLE_TTL": "50000", "IDP_SESSION_MAX_TTL": "3600"}, "IDP_SESSION_IDLE_TTL"),
        ({"IDP_ISUER": "https://typo.example"}, "IDP_ISUER"),
        ({"IDP_TRUSTED_PROXIES": "10.0.0.1, nginx"}, "IDP_TRUSTED_PROXIES"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(env, name):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)

    assert refused.value.name == name


def test_an_https_issuer_with_postgresql_is_a_production_set_up():
    settings = Settings.from_env(
        {"IDP_ISSUER": "https://id.example.gov.vn/", "IDP_DATABASE_URL": "postgresql://idp@db/idp"}
    )

    assert settings.issuer == "https://id.example.gov.vn" and settings.secure_cookies
    assert settings.effective_database_url == "postgresql+psycopg://idp@db/idp"
    assert not settings.is_development


def test_every_setting_is_documented_in_the_readme_table():
    readme = Path("README.md").read_text(encoding="utf-8")

    missing = [name for name, _, _ in documented_settings() if f"| `{name}` |" not in readme]

    assert missing == []
