"""The new-password rules of NIST SP 800-63B §3.1.1.2."""

from __future__ import annotations

import unicodedata

import pytest

from idp.core.password_policy import MAX_LENGTH, check_new_password
from idp.errors import ValidationError

CITIZEN = {"id_number": "001099012345", "phone": "+84912345678", "full_name": "Nguyễn Thị Hoà"}


def _refusal(password: str, **citizen: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check_new_password(password, **citizen)
    assert caught.value.field == "password"
    return caught.value


def test_a_password_of_seven_characters_is_too_short():
    error = _refusal("kq7#vbz")

    assert (error.code, error.params) == ("password_short", {"min": 8})


def test_length_is_counted_after_nfc_so_a_decomposed_vietnamese_letter_counts_once():
    decomposed = unicodedata.normalize("NFD", "Đường1x")  # 7 characters, 10 code points

    error = _refusal(decomposed)

    assert error.code == "password_short"


def test_a_password_of_129_characters_is_too_long_and_not_truncated():
    error = _refusal("kq7#vbz " * 16 + "x")

    assert (error.code, error.params) == ("password_long", {"max": 128})


@pytest.mark.parametrize(
    "password",
    [
        "zebra-violin-harbor-" * 3 + "moon",  # 64 characters
        "q" * 64 + "W" * 64,  # 128 characters
        "Mùa xuân về trên phố cổ, chúng ta cùng uống cà phê sữa đá nhé em",  # 64, spaces and Vietnamese
    ],
)
def test_long_passwords_and_passphrases_are_accepted(password):
    assert len(password) in (64, MAX_LENGTH)

    check_new_password(password, **CITIZEN)


def test_no_composition_rule_refuses_lowercase_letters_only():
    check_new_password("correcthorsebatterystaple", **CITIZEN)


@pytest.mark.parametrize(
    "password", ["password", "12345678", "iloveyou", "PassWord", "ILOVEYOU", "qwertyuiop", "anhyeuem"]
)
def test_common_passwords_are_refused_whatever_their_case(password):
    error = _refusal(password)

    assert error.code == "password_common"


def test_the_citizen_id_number_inside_a_password_is_refused():
    error = _refusal("my id 001099012345!", **CITIZEN)

    assert error.code == "password_contains_id"


def test_the_citizen_id_number_broken_by_spaces_is_still_refused():
    error = _refusal("001 099 012 345 ok", **CITIZEN)

    assert error.code == "password_contains_id"


@pytest.mark.parametrize(
    "password",
    ["call 0912345678", "x912345678x", "+84912345678", "tel:84912345678", "0912.345.678 home", "0912 345 678"],
)
def test_the_phone_number_in_any_of_its_forms_is_refused(password):
    error = _refusal(password, **CITIZEN)

    assert error.code == "password_contains_phone"


def test_the_phone_is_recognised_however_the_citizen_record_writes_it():
    error = _refusal("xx+84912345678", phone="0912 345 678")

    assert error.code == "password_contains_phone"


@pytest.mark.parametrize(
    "password",
    [
        "Nguyễn Thị Hoà",
        "nguyen-thi-hoa-2024",
        "NGUYỄN rất vui",
        "nguyenthihoa",
        "hoa@1990!",
        "Hoà password",
    ],
)
def test_a_password_that_is_little_but_the_name_is_refused_with_or_without_diacritics(password):
    error = _refusal(password, **CITIZEN)

    assert (error.code, error.params) == ("password_contains_name", {"min": 8})


@pytest.mark.parametrize(
    ("password", "full_name"),
    [
        ("bien xanh cat trang 99", "Trần Thị Hoa"),  # "trang" contains "tran": an ordinary word
        ("mua thu la vang roi", "Vũ Thị Thu"),  # "thu" is a name word, and the phrase is long without it
        ("mùa thu lá vàng rơi", "Vũ Thị Thu"),
        ("Tôi thích uống cà phê sữa đá", "Nguyễn Thị Hoà"),  # "thích" contains "thi"
    ],
)
def test_ordinary_passphrases_are_accepted_though_a_word_holds_or_is_a_name_part(password, full_name):
    check_new_password(password, full_name=full_name)


def test_the_refusal_names_the_rule_in_both_languages():
    from idp.i18n import words

    error = _refusal("Nguyễn Thị Hoà", **CITIZEN)

    assert "họ tên" in words("vi", error) and "8" in words("vi", error)
    assert "name" in words("en", error) and "8" in words("en", error)


def test_name_parts_are_not_looked_for_across_the_spaces_between_words():
    check_new_password("bên hồ anh đứng đợi", full_name="Phạm Hoa")


def test_the_letter_d_with_stroke_matches_a_plain_d():
    error = _refusal("duc 1234567", full_name="Trần Đức")

    assert error.code == "password_contains_name"


def test_a_name_made_only_of_short_parts_is_matched_as_a_whole():
    error = _refusal("levu1990!!", full_name="Lê Vũ")

    assert error.code == "password_contains_name"


def test_name_parts_shorter_than_three_letters_alone_are_not_refused():
    check_new_password("lexicon vu rain", full_name="Lê Vũ")


def test_without_personal_details_only_length_and_the_common_list_apply():
    check_new_password("nguyen 0912345678 001099012345")
