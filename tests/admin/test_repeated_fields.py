"""A console form field sent twice is refused, never resolved by taking the first value."""

from __future__ import annotations

from tests.admin.conftest import act_as
from tests.helpers import add_citizen


def test_a_repeated_field_on_a_console_form_is_refused_with_400_and_changes_nothing(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("admin"))

    refused = client.post(
        f"/admin/citizens/{citizen.id}/lock",
        content=f"csrf_token={member.csrf}&reason=fraud+report&reason=typo",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert refused.status_code == 400 and "reason must not be repeated" in refused.text
    assert provider.store.citizens.get(citizen.id).status == "active"


def test_a_repeated_csrf_token_on_a_console_form_is_refused_with_400(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("admin"))

    refused = client.post(
        f"/admin/citizens/{citizen.id}/lock",
        content=f"csrf_token={member.csrf}&csrf_token=other&reason=fraud+report",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert refused.status_code == 400
    assert provider.store.citizens.get(citizen.id).status == "active"


def test_a_repeated_query_parameter_on_a_console_page_is_refused_with_400(client, provider, staff_of):
    act_as(client, staff_of("admin"))

    refused = client.get("/admin/citizens?q=Nguyen&q=Tran")

    assert refused.status_code == 400 and "q must not be repeated" in refused.text


def test_a_repeated_query_parameter_on_the_admin_api_is_refused_with_400(client, provider, staff_of):
    act_as(client, staff_of("admin"))

    refused = client.get("/admin/api/audit?offset=0&offset=100")

    assert refused.status_code == 400 and "offset must not be repeated" in refused.text


def test_an_unknown_path_under_the_admin_api_is_a_404_not_a_500(client, provider, staff_of):
    act_as(client, staff_of("admin"))

    missing = client.get("/admin/api/no-such-thing")

    assert missing.status_code == 404
