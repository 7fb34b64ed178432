"""The SDK gives a portal the citizen ID number with its standing, and never reads a declared
number as verified."""

from __future__ import annotations

import pytest

from postid_client import CitizenId, IdTokenClaims


def _claims(**extra):
    return IdTokenClaims.from_claims({"sub": "s-1", "acr": "LoA1", **extra})


def test_a_declared_number_reads_as_not_verified():
    claims = _claims(citizen_id="001090000123", citizen_id_verified=False, citizen_id_registry_checked=False)

    assert claims.citizen_id == CitizenId("001090000123", verified=False, registry_checked=False)


def test_a_verified_number_reads_as_verified():
    claims = _claims(citizen_id="001090000123", citizen_id_verified=True, citizen_id_registry_checked=True)

    assert claims.citizen_id is not None and claims.citizen_id.verified and claims.citizen_id.registry_checked


@pytest.mark.parametrize("flag", [None, "true", 1, "yes"])
def test_only_an_explicit_true_makes_a_number_verified(flag):
    extra = {} if flag is None else {"citizen_id_verified": flag}

    found = CitizenId.from_claims({"citizen_id": "001090000123", **extra})

    assert found is not None and found.verified is False


def test_without_the_scope_there_is_no_citizen_id():
    assert _claims().citizen_id is None and CitizenId.from_claims({"SoDinhDanh": "001090000123"}) is None
