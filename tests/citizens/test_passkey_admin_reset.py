"""The administrator's "reset lost authenticator" on a citizen also removes the citizen's passkeys
(a lost phone holds them too), audited and told to the citizen."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from tests.admin.conftest import act_as, staff_of  # noqa: F401  (a fixture)
from tests.factors.authenticator import SoftAuthenticator, enrol_on_account
from tests.helpers import ISSUER, add_citizen, messages_to
from tests.security.conftest import account_login, audit_rows


def test_resetting_a_lost_authenticator_removes_every_passkey_audits_it_and_tells_the_citizen(
    client,
    provider,
    staff_of,  # noqa: F811
):
    citizen, password = add_citizen(provider)
    account_login(client, citizen, password)
    for name in ("Phone", "Key"):
        enrol_on_account(client, SoftAuthenticator(origin=ISSUER, rp_id=urlsplit(ISSUER).hostname), name)
    member = act_as(client, staff_of("admin"))

    response = client.post(
        f"/admin/citizens/{citizen.id}/reset-authenticator",
        data={"csrf_token": member.csrf, "reason": "lost phone, ID checked"},
    )

    assert response.status_code == 303
    assert provider.store.passkeys.count(citizen.id) == 0
    assert provider.store.recovery_codes.remaining(citizen.id) == 0
    reset = [r for r in audit_rows(provider, citizen) if r.action == "citizen.reset_authenticator"]
    assert len(reset) == 1 and json.loads(reset[0].detail)["passkeys_removed"] == 2
    assert any("khoa truy cap" in text and "tai quay" in text for _, text in messages_to(provider, citizen.phone))
