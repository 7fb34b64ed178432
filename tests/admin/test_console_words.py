"""The console speaks to clerks: Vietnamese first with an English switch that sticks, notices as
sentences, roles and permissions in words, a desk table whose every header says what it heads, and
post/redirect/get everywhere, so a reload after registering a portal never registers a second one
and the one-time secret is shown once."""

from __future__ import annotations

import html
import re

from idp.core import audit, secret_handoff
from tests.admin.conftest import act_as
from tests.helpers import add_citizen

PORTAL = {"name": "Cổng một cửa", "redirect_uris": "https://portal.example/cb"}


def _text(page: str) -> str:
    """What a person reads: tags and attributes dropped."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _secret_in(page: str) -> str | None:
    found = re.search(r'id="client-secret">([^<]+)<', page)
    return found.group(1) if found else None


def test_the_console_speaks_vietnamese_until_the_switch_and_then_keeps_english(client, staff_of):
    act_as(client, staff_of("admin"))

    first = client.get("/admin/")
    switched = client.get("/admin/?lang=en")
    later = client.get("/admin/citizens")

    assert '<html lang="vi">' in first.text and "Trang chủ" in first.text and 'href="/admin/?lang=en"' in first.text
    assert '<html lang="en">' in switched.text and "Home" in switched.text
    assert '<html lang="en">' in later.text and 'href="/admin/citizens?lang=vi"' in later.text


def test_the_language_switch_keeps_the_page_and_its_query(client, staff_of):
    act_as(client, staff_of("auditor"))

    page = client.get("/admin/audit", params={"action": "staff.login"})

    assert 'href="/admin/audit?action=staff.login&amp;lang=en"' in page.text


def test_the_home_page_names_roles_and_permissions_in_words_not_ids(client, staff_of):
    act_as(client, staff_of("admin", "auditor", username="two.hats"))

    read = _text(client.get("/admin/").text)

    assert "Quản trị viên" in read and "Kiểm toán viên" in read and "Tra cứu tài khoản công dân" in read
    assert "citizens.read" not in read and "(None)" not in read and "None" not in read


def test_a_notice_is_a_sentence_and_an_unknown_notice_is_not_shown(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("admin"))

    locked = client.post(f"/admin/citizens/{citizen.id}/lock", data={"reason": "lost card", "csrf_token": member.csrf})
    shown = client.get(locked.headers["location"])
    made_up = client.get(f"/admin/citizens/{citizen.id}?notice=made-up")

    assert locked.status_code == 303 and "Đã khóa tài khoản" in shown.text
    assert 'id="notice"' not in made_up.text and "made-up" not in _text(made_up.text)


def test_a_refusal_is_worded_in_the_clerks_language(client, provider, staff_of):
    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("clerk"))
    form = {
        "document_type": "cccd",
        "document_number": "001090999999",
        "full_name": citizen.full_name,
        "birth_date": citizen.birth_date,
        "sex": citizen.sex,
        "data_matches": "yes",
        "csrf_token": member.csrf,
    }

    refused = client.post(f"/admin/citizens/{citizen.id}/verifications", data=form)

    assert refused.status_code == 422 and "Với CCCD, số giấy tờ phải trùng với số định danh" in refused.text


def test_registering_a_portal_redirects_and_a_reload_registers_no_second_portal(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))

    posted = client.post("/admin/clients", data={**PORTAL, "csrf_token": member.csrf})
    shown = client.get(posted.headers["location"])
    reloaded = client.get(posted.headers["location"])

    (registered,) = provider.store.client_directory.list()
    assert posted.status_code == 303 and posted.headers["location"].startswith(
        f"/admin/clients/{registered.id}/secret?"
    )
    secret = _secret_in(shown.text)
    assert secret and client.post(
        "/token", auth=(registered.id, secret), data={"grant_type": "client_credentials"}
    ).status_code in (200, 400)  # the secret authenticates (a login-only portal may not use this grant)
    assert _secret_in(reloaded.text) is None and 'id="secret-gone"' in reloaded.text
    assert secret not in reloaded.text


def test_rotating_a_secret_redirects_and_shows_the_new_secret_once(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    client.post("/admin/clients", data={**PORTAL, "csrf_token": member.csrf})
    (registered,) = provider.store.client_directory.list()

    rotated = client.post(f"/admin/clients/{registered.id}/rotate-secret", data={"csrf_token": member.csrf})
    first = client.get(rotated.headers["location"])
    second = client.get(rotated.headers["location"])

    assert rotated.status_code == 303 and _secret_in(first.text) and _secret_in(second.text) is None


def test_the_parked_secret_is_sealed_bound_to_its_session_and_wiped_once_shown(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))
    posted = client.post("/admin/clients", data={**PORTAL, "csrf_token": member.csrf})
    handoff = posted.headers["location"].rsplit("handoff=", 1)[1]
    parked = provider.store.flows.get(handoff)

    act_as(client, staff_of("admin", username="another.admin"))
    elsewhere = client.get(posted.headers["location"])
    act_as(client, member)
    shown = client.get(posted.headers["location"])

    assert parked.kind == secret_handoff.KIND and _secret_in(shown.text) not in str(parked.data)
    assert _secret_in(elsewhere.text) is None and _secret_in(shown.text)
    assert provider.store.flows.get(handoff).data == {}


def test_a_portal_without_a_secret_lands_on_its_page_with_a_notice(client, provider, staff_of):
    member = act_as(client, staff_of("admin"))

    posted = client.post("/admin/clients", data={**PORTAL, "auth_method": "none", "csrf_token": member.csrf})
    landed = client.get(posted.headers["location"])

    (registered,) = provider.store.client_directory.list()
    assert posted.headers["location"] == f"/admin/clients/{registered.id}?notice=client-registered"
    assert "Đã đăng ký cổng dịch vụ." in landed.text


def test_every_header_cell_of_the_desk_says_what_it_heads(client, provider, staff_of):
    act_as(client, staff_of("supervisor"))
    empty = client.get("/admin/desk").text
    citizen, _ = add_citizen(provider)
    clerk = act_as(client, staff_of("clerk"))
    client.post(
        f"/admin/api/citizens/{citizen.id}/verifications",
        json={
            "document_type": "cccd",
            "document_number": citizen.id_number,
            "full_name": citizen.full_name,
            "birth_date": citizen.birth_date,
            "sex": citizen.sex,
            "data_matches": True,
        },
        headers={"X-CSRF-Token": clerk.csrf},
    )
    act_as(client, staff_of("supervisor"))
    waiting = client.get("/admin/desk").text

    for page in (empty, waiting):
        headers = re.findall(r"<th[^>]*>(.*?)</th>", page, re.S)
        assert headers and all(_text(h).strip() for h in headers), headers


def test_the_audit_trail_reads_day_first_on_the_services_clock_to_the_second(client, provider, clock, staff_of):
    """Issue 15 saw staff pages print "2026-11-29 14:00:00 UTC"; a clerk in Điện Biên reads 21:00."""
    act_as(client, staff_of("admin"))
    clock.set(1795960805)  # 2026-11-29 14:00:05 UTC
    audit.record(provider, action="keys.rotate", outcome="success", actor="someone")

    trail = _text(client.get("/admin/audit").text)

    assert "29/11/2026 21:00:05 (UTC+07)" in trail
    assert "2026-11-29" not in trail
