from __future__ import annotations

import pytest

from tests.helpers import Portal, add_citizen, add_portal


@pytest.fixture
def portal(provider) -> Portal:
    return add_portal(provider)


@pytest.fixture
def citizen(provider):
    return add_citizen(provider)
