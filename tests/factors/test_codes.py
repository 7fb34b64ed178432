"""Numeric one-time codes and recovery codes."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from idp.crypto.codes import RECOVERY_ALPHABET, normalize_recovery_code, numeric_code, recovery_code
from idp.crypto.randomness import SeededRandom, SystemRandom

RECOVERY_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")


class ScriptedRandom:
    """Hands out the given byte strings in order."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    def token_bytes(self, n: int) -> bytes:
        chunk = self._chunks.pop(0)
        assert len(chunk) == n
        return chunk


def test_a_numeric_code_always_has_six_ascii_digits():
    rng = SeededRandom(7)

    codes = [numeric_code(rng) for _ in range(5000)]

    assert all(len(c) == 6 and c.isascii() and c.isdigit() for c in codes)
    assert any(c.startswith("0") for c in codes)


def test_numeric_codes_are_roughly_uniform():
    rng = SeededRandom(42)

    counts = Counter(numeric_code(rng, digits=1) for _ in range(50_000))

    assert sorted(counts) == list("0123456789")
    assert all(4_600 < n < 5_400 for n in counts.values())


def test_the_leading_digit_of_six_digit_codes_is_roughly_uniform():
    rng = SeededRandom(43)

    counts = Counter(numeric_code(rng)[0] for _ in range(30_000))

    assert all(2_700 < n < 3_300 for n in counts.values())


def test_a_draw_above_the_last_full_block_is_thrown_away_not_reduced():
    rng = ScriptedRandom(b"\xff\xff\xff", b"\xf4\x24\x00", b"\x00\x00\x07")  # 16777215 and 16000000 are rejected

    code = numeric_code(rng)

    assert code == "000007"


def test_other_lengths_are_honoured():
    assert len(numeric_code(SystemRandom(), digits=8)) == 8


def test_a_code_length_of_zero_is_refused():
    with pytest.raises(ValueError):
        numeric_code(SystemRandom(), digits=0)


def test_a_recovery_code_is_two_groups_of_five_unambiguous_characters():
    rng = SeededRandom(3)

    codes = [recovery_code(rng) for _ in range(2000)]

    assert all(RECOVERY_FORMAT.match(c) for c in codes)
    assert set("".join(codes).replace("-", "")) == set(RECOVERY_ALPHABET)


def test_a_shown_recovery_code_normalises_to_its_ten_characters():
    code = recovery_code(SeededRandom(4))

    assert normalize_recovery_code(code) == code.replace("-", "")


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("abcde-fghjk", "ABCDEFGHJK"),
        ("  ABCDE FGHJK ", "ABCDEFGHJK"),
        ("o1il0-LOIo9", "0111010109"),
        ("0ilo-", "0110"),
        ("ab-cd-ef-gh-jk", "ABCDEFGHJK"),
    ],
)
def test_typed_recovery_codes_are_normalised_as_crockford_reads_them(typed, expected):
    assert normalize_recovery_code(typed) == expected
