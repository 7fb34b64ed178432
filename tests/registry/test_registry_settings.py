"""The registry's settings are checked at start-up like every other."""

from __future__ import annotations

import pytest

from idp.bootstrap import population_registry
from idp.core.registry import NoRegistry
from idp.delivery.registry import HttpRegistry
from idp.errors import SettingsError
from idp.settings import Settings


def test_the_registry_is_off_by_default():
    settings = Settings.from_env({})

    assert settings.registry_backend == "none" and isinstance(population_registry(settings), NoRegistry)


def test_the_http_backend_needs_a_url_and_gets_the_adapter():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"IDP_REGISTRY_BACKEND": "http"})
    settings = Settings.from_env(
        {
            "IDP_REGISTRY_BACKEND": "http",
            "IDP_REGISTRY_URL": "https://registry.example/check",
            "IDP_REGISTRY_TIMEOUT": "1.5",
        }
    )

    assert refused.value.name == "IDP_REGISTRY_URL"
    assert isinstance(population_registry(settings), HttpRegistry) and settings.registry_timeout == 1.5


@pytest.mark.parametrize(
    "name, value",
    [
        ("IDP_REGISTRY_BACKEND", "soap"),
        ("IDP_REGISTRY_URL", "http://registry.example/check"),  # plain http only on loopback
        ("IDP_REGISTRY_TIMEOUT", "forever"),
        ("IDP_REGISTRY_TIMEOUT", "60"),
        ("IDP_VERIFICATION_MAX_AGE", "60"),
    ],
)
def test_a_bad_registry_or_desk_setting_is_named(name, value):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})

    assert refused.value.name == name
