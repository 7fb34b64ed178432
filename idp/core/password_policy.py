"""What a new password must not be, after NIST SP 800-63B §3.1.1.2 (and nothing more).

At least 8 and at most 128 characters, counted after Unicode NFC so a Vietnamese letter typed as a
base letter plus combining marks counts once; spaces and every Unicode character are allowed, and a
long passphrase is never truncated. There are no composition rules: they push people to
`Password1!`. Instead the password is refused when it is a known common password or contains
something an attacker knows about the citizen: the ID number, the phone number, or little but
the name (the name's words, compared whole, do not count towards the length).

This is the one password policy: registration, reset, operator-seeded citizens (`idp citizens add`)
and staff accounts (`idp staff add`) all call `check_new_password`; a staff account guards more
than a citizen's, so it gets no weaker rule.

The common-password list is the 30,000-entry `passwords` frequency list shipped inside the `zxcvbn`
package (MIT), loaded on first use. zxcvbn's own strength score is not offered: on crafted
128-character inputs it costs up to 0.7 s of CPU per call, which an unauthenticated form must not.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from idp.core.identity import normalize_phone
from idp.errors import ValidationError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_new_password", "common_passwords"]

MIN_LENGTH = 8
MAX_LENGTH = 128
_FIELD = "password"
_SEPARATORS = re.compile(r"[\s.\-()/]")
_NAME_PARTS = re.compile(r"[^\W\d_]+")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    """Case and Vietnamese diacritics removed: "Nguyễn Đức" → "nguyen duc".

    Đ/đ is a letter of its own in Unicode (it does not decompose), so it is mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare).casefold()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, NFC and case-folded; read once, on the first password checked."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(_nfc(p).casefold() for p in FREQUENCY_LISTS["passwords"])


def _phone_digits(phone: str) -> str:
    """The 9 digits after +84: every written form (0912…, 912…, +84912…, 84912…) contains them."""
    try:
        return normalize_phone(phone)[3:]
    except ValidationError:
        return "".join(c for c in phone if c.isascii() and c.isdigit())


def _is_made_of(token: str, parts: frozenset[str]) -> bool:
    """`token` is one or more name parts run together ("tranthihoa", "levu"), nothing else."""
    ends = {0}
    for end in range(1, len(token) + 1):
        if any(start in ends and token[start:end] in parts for start in range(end)):
            ends.add(end)
    return len(token) in ends


def _without_name(text: str, full_name: str) -> str | None:
    """The password with the words of the name taken out (separators dropped), or None when the
    name is not in it. Words are compared whole, case and diacritics aside: a word that merely
    contains a part of the name ("trang" and "Trần", "thích" and "Thị") is an ordinary word."""
    parts = frozenset(_NAME_PARTS.findall(_fold(_nfc(full_name))))
    if not parts:
        return None
    words = re.split(r"([^\W\d_]+)", _fold(text))
    kept = [w for w in words if not (w and w[0].isalpha() and _is_made_of(w, parts))]
    if len(kept) == len(words):
        return None
    return _SEPARATORS.sub("", "".join(kept))


def _leans_on_name(text: str, full_name: str) -> bool:
    """The name does not count towards the password: once its words are taken out, what is left
    must still be long enough and not a common password. "Trần Thị Hoa", "tranthihoa1990" and
    "Hoa@2024" are refused; "mùa thu lá vàng rơi" for Vũ Thị Thu is a passphrase that happens to
    hold a name word, and stays allowed (refusing every name word would refuse ordinary phrases:
    most Vietnamese given names are everyday words)."""
    rest = _without_name(text, full_name)
    return rest is not None and (len(rest) < MIN_LENGTH or rest.casefold() in common_passwords())


def check_new_password(password: str, *, id_number: str = "", phone: str = "", full_name: str = "") -> None:
    """Raise `ValidationError("password", code)` for the first rule the new password breaks."""
    text = _nfc(password)
    if len(text) < MIN_LENGTH:
        raise ValidationError(_FIELD, "password_short", min=MIN_LENGTH)
    if len(text) > MAX_LENGTH:
        raise ValidationError(_FIELD, "password_long", max=MAX_LENGTH)
    if text.casefold() in common_passwords():
        raise ValidationError(_FIELD, "password_common")
    compact = _SEPARATORS.sub("", text)
    number = id_number.strip()
    if number and number in compact:
        raise ValidationError(_FIELD, "password_contains_id")
    digits = _phone_digits(phone) if phone.strip() else ""
    if len(digits) >= 6 and digits in compact:
        raise ValidationError(_FIELD, "password_contains_phone")
    if full_name.strip() and _leans_on_name(text, full_name):
        raise ValidationError(_FIELD, "password_contains_name", min=MIN_LENGTH)
