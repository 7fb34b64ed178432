"""Offline checks of the citizen ID number, phone and name."""

from __future__ import annotations

from datetime import date

import pytest

from idp.core.identity import (
    check_id_number,
    normalize_name,
    normalize_phone,
    parse_birth_date,
    phone_for_display,
    province_codes,
)
from idp.errors import ValidationError


def test_the_province_table_holds_the_63_codes_with_dien_bien_at_011():
    codes = province_codes()

    assert len(codes) == 63 and codes["011"] == "Điện Biên" and codes["001"] == "Hà Nội"


@pytest.mark.parametrize(
    "number, sex, born",
    [
        ("001090000001", "male", date(1990, 1, 1)),
        ("079185000001", "female", date(1985, 6, 1)),
        ("001303000001", "female", date(2003, 2, 2)),
        ("001205000001", "male", date(2005, 2, 2)),
        ("096200000001", "male", date(2000, 12, 31)),
    ],
)
def test_a_consistent_number_is_accepted(number, sex, born):
    assert check_id_number(number, sex=sex, birth_date=born) == number


@pytest.mark.parametrize(
    "number, sex, born, code",
    [
        ("00109000001", "male", date(1990, 1, 1), "citizen_id_format"),
        ("0010900000011", "male", date(1990, 1, 1), "citizen_id_format"),
        ("00109000000a", "male", date(1990, 1, 1), "citizen_id_format"),
        ("００１090000001", "male", date(1990, 1, 1), "citizen_id_format"),
        ("003090000001", "male", date(1990, 1, 1), "citizen_id_province"),
        ("001190000001", "male", date(1990, 1, 1), "citizen_id_sex"),
        ("001091000001", "male", date(1990, 1, 1), "citizen_id_year"),
        ("001290000001", "male", date(1990, 1, 1), "citizen_id_year"),
    ],
)
def test_an_inconsistent_number_is_refused_saying_why(number, sex, born, code):
    with pytest.raises(ValidationError) as refused:
        check_id_number(number, sex=sex, birth_date=born)

    assert refused.value.field == "citizen_id" and refused.value.code == code


@pytest.mark.parametrize(
    "raw", ["0912345678", "+84912345678", "84912345678", "0912 345 678", "091.234.5678", "+84 912 345 678"]
)
def test_vietnamese_mobile_numbers_are_stored_as_e164(raw):
    assert normalize_phone(raw) == "+84912345678"
    assert phone_for_display(normalize_phone(raw)) == "0912345678"


@pytest.mark.parametrize(
    "raw", ["0212345678", "091234567", "09123456789", "+1 650 555 0100", "phone", "", "+840912345678"]
)
def test_other_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_names_keep_their_diacritics_in_nfc():
    decomposed = "Nguye\u0302\u0303n  Va\u0306n   An"

    assert normalize_name(decomposed) == "Nguyễn Văn An"


def test_a_birth_date_in_the_future_is_refused():
    with pytest.raises(ValidationError) as refused:
        parse_birth_date("2030-01-01", date(2026, 11, 28))

    assert refused.value.code == "future_date"
