"""Citizens register themselves, prove the phone with an SMS code, and are never enumerable."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from idp.core import registration, sessions
from idp.core.accounts import CitizenDeclaration
from idp.errors import ValidationError
from idp.http import cookies
from tests.helpers import (
    PageRefused,
    add_citizen,
    add_portal,
    csrf_of,
    form_action,
    form_errors,
    login_and_consent,
    messages_to,
    path_of,
    sent_codes,
)

NEW = {
    "full_name": "Phạm Minh Châu",
    "citizen_id": "079303001234",
    "birth_date": "2003-04-05",
    "sex": "female",
    "phone": "0987 654 321",
    "email": "",
    "password": "mây trắng bay qua đồi xanh",
}
NEW_PHONE = "+84987654321"


def _register(client, lang="vi", **changes):
    form = client.get(f"/register?lang={lang}")
    data = {**NEW, **changes, "csrf_token": csrf_of(form.text)}
    return client.post(form_action(form.text, "/register"), data=data)


def _verify(client, response, code):
    page = client.get(path_of(response.headers["location"]))
    return client.post(
        form_action(page.text, "/register/"), data={"csrf_token": csrf_of(page.text), "code": code, "action": "verify"}
    )


def test_a_citizen_registers_proves_the_phone_and_logs_in_to_a_portal(client, provider):
    started = _register(client)
    code = sent_codes(provider, NEW_PHONE, "register")[-1]

    done = _verify(client, started, code)

    assert started.status_code == 303 and done.status_code == 303
    assert "Phạm Minh Châu" in client.get(path_of(done.headers["location"])).text
    portal = add_portal(provider)
    callback = login_and_consent(client, portal, "0987654321", NEW["password"])
    assert "code" in callback


def test_registering_logs_the_citizen_in_with_the_phone_proof_and_the_password_just_set(client, provider):
    started = _register(client)

    _verify(client, started, sent_codes(provider, NEW_PHONE, "register")[-1])

    page = client.get("/account")
    assert page.status_code == 200 and "Phạm Minh Châu" in page.text
    session = sessions.current(provider, client.cookies.get(cookies.session_name(provider.settings)))
    assert (list(session.amr), session.acr) == (["pwd", "sms"], "LoA1")


def test_reloading_the_finished_registration_page_shows_it_again_with_a_way_on(client, provider):
    started = _register(client)
    done = _verify(client, started, sent_codes(provider, NEW_PHONE, "register")[-1])

    first = client.get(path_of(done.headers["location"]))
    again = client.get(path_of(done.headers["location"]))

    assert first.status_code == again.status_code == 200
    assert 'href="/account?lang=vi" id="continue"' in again.text


def test_a_pending_account_cannot_log_in_before_the_code(client, provider):
    _register(client)
    portal = add_portal(provider)

    with pytest.raises(PageRefused) as refused:
        login_and_consent(client, portal, NEW["citizen_id"], NEW["password"])

    assert refused.value.response.status_code == 401


@pytest.mark.parametrize(
    "changes, field_label, field",
    [
        ({"citizen_id": "079303001"}, "Số định danh cá nhân", "citizen_id"),
        ({"citizen_id": "003303001234"}, "Số định danh cá nhân", "citizen_id"),
        ({"sex": "male"}, "Số định danh cá nhân", "citizen_id"),
        ({"birth_date": "2004-04-05"}, "Số định danh cá nhân", "citizen_id"),
        ({"birth_date": "31/02/2003"}, "Ngày sinh", "birth_date"),
        ({"phone": "+1 650 555 0100"}, "Số điện thoại", "phone"),
        ({"full_name": "X"}, "Họ và tên", "full_name"),
        ({"password": "short"}, "Mật khẩu", "password"),
        ({"password": "password123"}, "Mật khẩu", "password"),
        ({"password": "my id 079303001234 ok"}, "Mật khẩu", "password"),
        ({"password": "call me on 0987654321"}, "Mật khẩu", "password"),
    ],
)
def test_each_refusal_names_the_field_in_vietnamese_and_is_tied_to_it(client, provider, changes, field_label, field):
    response = _register(client, **changes)

    assert response.status_code == 400
    assert list(form_errors(response.text)) == [field] and field_label in form_errors(response.text)[field]
    assert f'id="{field}-error"' in response.text
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="[^"]*{field}-error"', response.text)
    assert sent_codes(provider, NEW_PHONE, at_least=0) == []


def test_a_refusal_speaks_english_when_asked(client):
    response = _register(client, lang="en", citizen_id="079303001")

    assert "Citizen ID number: must be exactly 12 digits." in response.text


def test_a_password_of_128_characters_is_accepted_and_not_truncated(client, provider):
    long_password = "đi một ngày đàng học một sàng khôn " * 4
    long_password = long_password[:128]

    started = _register(client, password=long_password)
    _verify(client, started, sent_codes(provider, NEW_PHONE, "register")[-1])

    portal = add_portal(provider)
    assert "code" in login_and_consent(client, portal, NEW["citizen_id"], long_password)
    with pytest.raises(PageRefused) as refused:
        login_and_consent(client, portal, NEW["citizen_id"], long_password[:127], prompt="login")
    assert refused.value.response.status_code == 401


def test_registering_an_existing_id_number_answers_like_a_new_one_and_tells_the_holder(client, provider):
    holder, _ = add_citizen(
        provider,
        declaration=CitizenDeclaration(
            id_number=NEW["citizen_id"],
            full_name="Phạm Minh Châu",
            birth_date=NEW["birth_date"],
            sex="female",
            phone="0911111111",
        ),
    )
    fresh = _register(client, citizen_id="001303009999", phone="0977777777")

    duplicate = _register(client, phone="0988888888")

    assert duplicate.status_code == fresh.status_code == 303
    assert path_of(duplicate.headers["location"]).split("/")[1] == path_of(fresh.headers["location"]).split("/")[1]
    page = client.get(path_of(duplicate.headers["location"]))
    assert page.status_code == 200 and 'name="code"' in page.text
    assert sent_codes(provider, "+84988888888", at_least=0) == []
    assert [purpose for purpose, _ in messages_to(provider, holder.phone)] == ["notice"]


def test_registering_again_while_the_first_answer_was_lost_sends_a_fresh_code_instead_of_the_duplicate_notice(
    client, clock, provider
):
    _register(client)  # the answer never reached the citizen
    clock.advance(61)  # past the resend cooldown, which still applies

    again = _register(client, password="một mật khẩu mới hoàn toàn khác")
    codes = sent_codes(provider, NEW_PHONE, "register", at_least=2)
    done = _verify(client, again, codes[-1])

    assert again.status_code == 303 and done.status_code == 303
    assert [purpose for purpose, _ in messages_to(provider, NEW_PHONE)] == ["register", "register"]
    client.cookies.clear()  # another browser: the password is asked
    portal = add_portal(provider)
    callback = login_and_consent(client, portal, NEW["citizen_id"], "một mật khẩu mới hoàn toàn khác")
    assert "code" in callback


def test_a_pending_registration_of_the_same_id_number_with_another_phone_still_gets_the_duplicate_notice(
    client, clock, provider
):
    _register(client)
    clock.advance(61)

    other = _register(client, phone="0988888888")

    assert other.status_code == 303
    assert sent_codes(provider, "+84988888888", at_least=0) == []
    assert [purpose for purpose, _ in messages_to(provider, NEW_PHONE)] == ["register", "notice"]


def test_a_collided_registration_accepts_no_code(client, provider):
    add_citizen(
        provider,
        declaration=CitizenDeclaration(
            id_number=NEW["citizen_id"],
            full_name="Phạm Minh Châu",
            birth_date=NEW["birth_date"],
            sex="female",
            phone="0911111111",
        ),
    )
    duplicate = _register(client)

    refused = _verify(client, duplicate, "000000")

    assert refused.status_code == 401


def test_twenty_parallel_registrations_of_one_id_number_create_exactly_one_account(provider):
    barrier = Barrier(20)

    def attempt(n):
        barrier.wait()
        declaration = CitizenDeclaration(
            id_number=NEW["citizen_id"],
            full_name=NEW["full_name"],
            birth_date=NEW["birth_date"],
            sex="female",
            phone=f"09876{n:05d}",
        )
        return registration.register(provider, declaration, NEW["password"], client_ip=f"10.0.0.{n}", lang="vi")

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(attempt, range(20)))

    from sqlalchemy import text

    with provider.store.engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM citizen WHERE citizen_id = :c"), {"c": NEW["citizen_id"]}
        ).scalar()
    assert count == 1


def test_a_stale_pending_registration_stops_holding_the_number_after_a_day(client, clock, provider):
    _register(client)
    clock.advance(86400 + 1)

    again = _register(client, phone="0966666666")

    assert again.status_code == 303
    assert sent_codes(provider, "+84966666666", "register")


def test_the_registration_form_needs_its_csrf_token(client):
    response = client.post("/register", data={**NEW, "csrf_token": "forged"})

    assert response.status_code == 403


def test_the_registration_api_creates_and_activates_an_account(client, provider):
    started = client.post("/api/registrations", json={k: v for k, v in NEW.items() if k != "email"})
    body = started.json()

    verified = client.post(
        f"/api/registrations/{body['flow_id']}/verify",
        json={"flow_secret": body["flow_secret"], "code": sent_codes(provider, NEW_PHONE, "register")[-1]},
    )

    assert started.status_code == 202 and body["next"] == "verify"
    assert verified.status_code == 200 and verified.json() == {"status": "active", "level": "LoA1"}


def test_the_registration_api_names_the_bad_field(client):
    response = client.post("/api/registrations", json={**NEW, "phone": "12345"}, headers={"Accept-Language": "en"})

    assert response.status_code == 400
    assert response.json()["field"] == "phone" and "Vietnamese mobile" in response.json()["error_description"]


def test_the_registration_api_answers_a_duplicate_like_a_new_one(client, provider):
    add_citizen(
        provider,
        declaration=CitizenDeclaration(
            id_number=NEW["citizen_id"],
            full_name="Phạm Minh Châu",
            birth_date=NEW["birth_date"],
            sex="female",
            phone="0911111111",
        ),
    )

    response = client.post("/api/registrations", json=NEW)

    assert response.status_code == 202 and set(response.json()) == {
        "flow_id",
        "flow_secret",
        "expires_in",
        "next",
        "registry",
    }
    assert response.json()["registry"] == "off"


def test_the_registration_api_refuses_a_flow_without_its_secret(client, provider):
    body = client.post("/api/registrations", json=NEW).json()

    response = client.post(
        f"/api/registrations/{body['flow_id']}/verify",
        json={"flow_secret": "guess", "code": sent_codes(provider, NEW_PHONE, "register")[-1]},
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_flow"


def test_the_registration_api_says_when_a_refused_resend_may_be_retried(client):
    body = client.post("/api/registrations", json=NEW).json()

    response = client.post(f"/api/registrations/{body['flow_id']}/resend", json={"flow_secret": body["flow_secret"]})

    assert response.status_code == 429 and response.json()["error"] == "slow_down"
    assert int(response.headers["Retry-After"]) > 0


def test_the_registration_api_refuses_a_non_json_body(client):
    response = client.post("/api/registrations", data={"x": "y"})

    assert response.status_code == 415


def test_validation_errors_carry_the_field(provider):
    with pytest.raises(ValidationError) as refused:
        registration.register(
            provider,
            CitizenDeclaration(
                id_number=NEW["citizen_id"],
                **{k: v for k, v in NEW.items() if k not in ("password", "citizen_id", "phone")},
                phone="0212345678",
            ),
            NEW["password"],
            client_ip="1.2.3.4",
            lang="vi",
        )

    assert refused.value.field == "phone"
