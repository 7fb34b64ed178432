"""Offline checks of a citizen's declared identity: citizen ID number (CCCD), phone, name.

The 12-digit number opens with the province code where the birth was registered
(Circular 07/2016/TT-BCA, Appendix 1), then one digit for century and sex (even = male,
odd = female; birth year = 1900 + 100 × (digit ÷ 2) + the next two digits).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from datetime import date
from functools import lru_cache
from importlib.resources import files

from idp.errors import ValidationError

SEXES = ("male", "female")
# The form, API and error field that carries the ID number: a public name, older than `id_number`.
ID_NUMBER_FIELD = "citizen_id"
_PHONE_SEPARATORS = re.compile(r"[\s.\-]")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_MOBILE_FIRST_DIGITS = frozenset("35789")
# A date as Vietnamese write it, day first (05/04/2003, 5-4-2003): what a citizen types where no
# date picker is shown, and what the refusal's example shows. ISO (2003-04-05) is taken as well.
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


@lru_cache(maxsize=1)
def province_codes() -> dict[str, str]:
    with files("idp.data").joinpath("province-codes.csv").open(encoding="utf-8") as fh:
        return {row["code"]: row["province"] for row in csv.DictReader(fh)}


def parse_birth_date(raw: str, today: date, field: str = "birth_date") -> date:
    text = raw.strip()
    day_first = _DAY_FIRST.match(text)
    try:
        if day_first:
            day, month, year = (int(part) for part in day_first.groups())
            value = date(year, month, day)
        else:
            value = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, "date") from None
    if not day_first and len(text) != 10:
        raise ValidationError(field, "date")
    if value > today:
        raise ValidationError(field, "future_date")
    return value


def check_sex(raw: str) -> str:
    value = raw.strip().lower()
    if value not in SEXES:
        raise ValidationError("sex", "sex")
    return value


def check_id_number(raw: str, *, sex: str, birth_date: date) -> str:
    number = raw.strip()
    if not (len(number) == 12 and number.isascii() and number.isdigit()):
        raise ValidationError(ID_NUMBER_FIELD, "citizen_id_format")
    if number[:3] not in province_codes():
        raise ValidationError(ID_NUMBER_FIELD, "citizen_id_province", province=number[:3])
    century_sex = int(number[3])
    if ("male", "female")[century_sex % 2] != sex:
        raise ValidationError(ID_NUMBER_FIELD, "citizen_id_sex")
    year = 1900 + 100 * (century_sex // 2) + int(number[4:6])
    if year != birth_date.year:
        raise ValidationError(ID_NUMBER_FIELD, "citizen_id_year", year=year)
    return number


def normalize_phone(raw: str) -> str:
    """A Vietnamese mobile number as E.164 (`+84…`); `09x…`, `+849x…`, `849x…` with spaces or dots."""
    digits = _PHONE_SEPARATORS.sub("", raw.strip())
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise ValidationError("phone", "phone")
    if not (len(national) == 9 and national.isascii() and national.isdigit() and national[0] in _MOBILE_FIRST_DIGITS):
        raise ValidationError("phone", "phone")
    return "+84" + national


def phone_or_none(raw: str) -> str | None:
    """The E.164 form when `raw` is a Vietnamese mobile number, else None (it may be an ID number)."""
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


def phone_for_display(e164: str) -> str:
    return "0" + e164[3:] if e164.startswith("+84") else e164


def normalize_name(raw: str) -> str:
    """Unicode NFC, single spaces; diacritics kept as the citizen wrote them."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not 2 <= len(name) <= 100 or not _NAME.match(name):
        raise ValidationError("full_name", "name")
    return name


def normalize_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError("email", "email")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"
