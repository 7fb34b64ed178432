"""Key rotation end to end: a new key is published before it signs; a token signed before the
rotation still validates through the SDK after it; new tokens carry the new key."""

from __future__ import annotations

import json

import jwt

from idp import cli
from idp.core import keys as key_policy
from postid_client import PostIDClient
from postid_client.client import drive
from tests.admin.conftest import act_as
from tests.admin.test_audit import idp_env  # noqa: F401  (fixture)
from tests.helpers import ISSUER, add_citizen, add_portal, walk_pages


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def _login(client, sdk, portal, citizen, password):
    login = sdk.start_login(scope="openid profile")
    callback = walk_pages(client, login.url, portal.redirect_uri, citizen.id_number, password)
    return sdk.finish_login(callback, login)


def _sdk(client, portal, clock):
    return PostIDClient(
        ISSUER,
        portal.client_id,
        client_secret=portal.secret,
        redirect_uri=portal.redirect_uri,
        http_client=client,
        clock=lambda: float(clock.now()),
    )


def test_a_token_signed_before_rotation_still_validates_after_it_and_new_tokens_use_the_new_key(
    client, provider, clock, staff_of
):
    portal = add_portal(provider)
    citizen, password = add_citizen(provider)
    sdk = _sdk(client, portal, clock)
    before = _login(client, sdk, portal, citizen, password)
    old_kid = _kid(before.id_token)
    admin = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": admin.csrf}

    published = client.post("/admin/api/keys/rotate", headers=headers).json()["rotated"]
    new_kid = next(r["published"] for r in published if r["alg"] == "ES256")
    jwks_kids = {k["kid"] for k in client.get("/jwks").json()["keys"]}
    too_soon = client.post("/admin/api/keys/rotate", headers=headers)
    still_old = _login(client, sdk, portal, citizen, password)
    clock.advance(key_policy.publish_for(provider) + 1)
    activated = client.post("/admin/api/keys/rotate", headers=headers).json()["rotated"]
    client.cookies.clear()
    after = _login(client, sdk, portal, citizen, password)

    assert new_kid in jwks_kids and old_kid in jwks_kids  # published before it signs
    assert too_soon.status_code == 409
    assert _kid(still_old.id_token) == old_kid
    assert next(r["activated"] for r in activated if r["alg"] == "ES256") == new_kid
    assert _kid(after.id_token) == new_kid and _kid(after.access_token) == new_kid
    fresh_sdk = _sdk(client, portal, clock)  # a relying party that fetches the JWKS only now
    header, claims = drive(fresh_sdk._core._verified(before.id_token), client)
    assert header["kid"] == old_kid and claims["sub"] == before.claims.sub
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {before.access_token}"}).status_code == 200


def test_a_retired_key_leaves_the_jwks_once_its_tokens_expired_plus_the_cache_time(client, provider, clock, staff_of):
    admin = act_as(client, staff_of("admin"))
    headers = {"X-CSRF-Token": admin.csrf}
    old_kid = provider.keys.signer("ES256").kid
    client.post("/admin/api/keys/rotate", headers=headers)
    clock.advance(key_policy.publish_for(provider))
    client.post("/admin/api/keys/rotate", headers=headers)

    clock.advance(key_policy.keep_retired_for(provider) - 1)
    listed_before = {k["kid"]: k["status"] for k in client.get("/admin/api/keys").json()["keys"]}
    clock.advance(key_policy.publish_for(provider) + 1)
    client.post("/admin/api/keys/rotate", headers=headers)

    assert listed_before[old_kid] == "retired"
    assert old_kid not in {k["kid"] for k in client.get("/jwks").json()["keys"]}
    assert key_policy.keep_retired_for(provider) >= provider.settings.id_token_ttl + 300


def test_idp_keys_list_and_rotate_from_the_command_line(provider, idp_env, capsys):  # noqa: F811
    assert cli.main(["keys", "rotate"]) == 0
    rotated = json.loads(capsys.readouterr().out)
    assert cli.main(["keys", "rotate"]) == 2  # the next key is too fresh to sign
    capsys.readouterr()

    assert cli.main(["keys", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)

    assert {r["alg"] for r in rotated} == {"ES256", "RS256"}
    assert sorted(k["status"] for k in listed) == ["active", "active", "next", "next"]
    assert [k["signing"] for k in listed if k["status"] == "next"] == [False, False]


def test_idp_staff_add_prints_the_enrolment_uri_and_a_terminal_qr(provider, idp_env, capsys, monkeypatch):  # noqa: F811
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long staff password\n"))

    status = cli.main(
        ["staff", "add", "--username", "first.admin", "--role", "admin", "--role", "auditor", "--password-stdin"]
    )
    out = capsys.readouterr()

    created = json.loads(out.out)
    assert status == 0 and created["roles"] == ["admin", "auditor"]
    assert created["totp_uri"].startswith("otpauth://totp/PostID%20staff:first.admin?secret=")
    assert "█" in out.err
    assert provider.store.staff.find_for_login("first.admin") is not None
