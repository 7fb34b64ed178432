"""A registered portal and an active citizen, as records the core functions take."""

from __future__ import annotations

import pytest

from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client
from idp.store.records import CitizenRecord, ClientRecord
from tests.helpers import REDIRECT_URI, add_citizen


@pytest.fixture
def portal(provider) -> ClientRecord:
    return register_client(provider, ClientSpec(name="Cổng thử nghiệm", redirect_uris=[REDIRECT_URI])).client


@pytest.fixture
def citizen(provider) -> CitizenRecord:
    return add_citizen(provider)[0]
