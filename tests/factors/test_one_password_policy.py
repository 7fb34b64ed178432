"""Staff and operator-seeded citizens get the same password policy as citizens who register."""

from __future__ import annotations

import pytest

from idp.core import staff
from idp.core.accounts import add_active_citizen
from idp.core.password_policy import check_new_password
from idp.errors import ValidationError
from tests.helpers import CITIZEN


def test_a_common_password_the_citizen_policy_refuses_is_refused_for_staff_too(provider):
    with pytest.raises(ValidationError) as for_citizens:
        check_new_password("password")

    with pytest.raises(ValidationError) as for_staff:
        staff.add_staff(provider, username="new.admin", roles=["admin"], password="password")

    assert for_citizens.value.code == for_staff.value.code == "password_common"
    assert provider.store.staff.find_for_login("new.admin") is None


def test_a_staff_password_containing_the_staff_members_name_is_refused(provider):
    with pytest.raises(ValidationError) as refused:
        staff.add_staff(provider, username="binh", roles=["clerk"], password="Bình Trần 2024", full_name="Trần Bình")

    assert refused.value.code == "password_contains_name"


def test_an_operator_seeded_citizen_cannot_get_a_password_containing_their_id_number(provider):
    with pytest.raises(ValidationError) as refused:
        add_active_citizen(provider, CITIZEN, f"id {CITIZEN.id_number} pass")

    assert refused.value.code == "password_contains_id"
