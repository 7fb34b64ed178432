"""Sealing TOTP seeds at rest, and keyed digests of short codes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from idp.crypto.keys import load_keys
from idp.crypto.opaque import b64url
from idp.crypto.randomness import SeededRandom
from idp.crypto.sealing import KEY_FILE, SealError, SecretBox, _write_new_key
from idp.errors import IdpError

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(SeededRandom(1).token_bytes(32))


def test_a_sealed_value_opens_with_the_same_key_and_context(box):
    sealed = box.seal(SEED, "citizen-1")

    assert box.unseal(sealed, "citizen-1") == SEED


def test_the_sealed_text_is_versioned_and_does_not_contain_the_secret(box):
    sealed = box.seal(SEED, "citizen-1")

    assert sealed.startswith("v1.") and sealed.count(".") == 2
    assert SEED not in sealed


def test_two_seals_of_one_value_differ(box):
    first = box.seal(SEED, "citizen-1")

    second = box.seal(SEED, "citizen-1")

    assert first != second


@pytest.mark.parametrize("secret", [SEED, SEED[:-1]])  # 48 and 47 bytes: the second leaves spare bits
def test_changing_any_character_of_the_sealed_text_makes_it_fail(box, secret):
    sealed = box.seal(secret, "citizen-1")
    opened = 0

    for i, char in enumerate(sealed):
        for replacement in {"A", "B", "-", "_"} - {char}:
            try:
                box.unseal(sealed[:i] + replacement + sealed[i + 1 :], "citizen-1")
                opened += 1
            except SealError:
                pass

    assert opened == 0


def test_flipping_any_bit_of_the_nonce_or_ciphertext_makes_it_fail(box):
    version, nonce, body = box.seal(SEED, "citizen-1").split(".")
    raw = base64.urlsafe_b64decode(nonce + "==") + base64.urlsafe_b64decode(body + "==")
    opened = 0

    for i in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[i] ^= 1 << bit
            try:
                box.unseal(f"{version}.{b64url(bytes(tampered[:12]))}.{b64url(bytes(tampered[12:]))}", "citizen-1")
                opened += 1
            except SealError:
                pass

    assert opened == 0


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "v1",
        "v1..",
        "v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
        "v1.AA.AA",
        "v1.AAAAAAAAAAAAAAAA.AAAA",
        "v1.AAAAAAAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAA",
        "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AA",
        SEED,
    ],
)
def test_text_that_is_not_a_sealed_value_fails_with_a_seal_error(box, garbage):
    with pytest.raises(SealError):
        box.unseal(garbage, "citizen-1")


def test_a_value_sealed_for_one_citizen_does_not_open_for_another(box):
    sealed = box.seal(SEED, "citizen-1")

    with pytest.raises(SealError):
        box.unseal(sealed, "citizen-2")


def test_a_box_with_another_key_cannot_open_it(box):
    sealed = box.seal(SEED, "citizen-1")
    other = SecretBox(SeededRandom(2).token_bytes(32))

    with pytest.raises(SealError):
        other.unseal(sealed, "citizen-1")


def test_a_seal_error_is_a_provider_error():
    assert issubclass(SealError, IdpError)


def test_the_key_never_shows_in_the_repr(box):
    assert "hidden" in repr(box)


def test_a_key_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError):
        SecretBox(b"\x00" * 16)


def test_the_key_file_is_created_0600_and_reused(tmp_path):
    first = SecretBox.load_or_create(tmp_path, SeededRandom(1))
    sealed = first.seal(SEED, "citizen-1")

    second = SecretBox.load_or_create(tmp_path, SeededRandom(2))

    key_file = tmp_path / KEY_FILE
    assert oct(key_file.stat().st_mode)[-3:] == "600"
    assert second.unseal(sealed, "citizen-1") == SEED
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_the_key_file_holds_32_bytes_as_base64url(tmp_path):
    SecretBox.load_or_create(tmp_path, SeededRandom(1))

    text = (tmp_path / KEY_FILE).read_text().strip()

    assert text == b64url(SeededRandom(1).token_bytes(32))


def test_a_key_written_first_by_another_worker_is_kept(tmp_path):
    SecretBox.load_or_create(tmp_path, SeededRandom(1))
    before = (tmp_path / KEY_FILE).read_bytes()

    _write_new_key(tmp_path / KEY_FILE, SeededRandom(2).token_bytes(32))

    assert (tmp_path / KEY_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_the_signing_key_loader_ignores_the_sealing_key(tmp_path):
    SecretBox.load_or_create(tmp_path)

    ring = load_keys(tmp_path)

    assert ring.keys == []


def test_a_damaged_key_file_stops_start_up(tmp_path):
    (tmp_path / KEY_FILE).write_text("not a key!\n")

    with pytest.raises(ValueError):
        SecretBox.load_or_create(tmp_path)


def test_mac_is_stable_for_one_key_and_label(box):
    first = box.mac("sms", "123456")

    second = SecretBox(SeededRandom(1).token_bytes(32)).mac("sms", "123456")

    assert first == second and box.mac_matches("sms", "123456", first)


def test_mac_differs_per_label_per_value_and_per_key(box):
    base = box.mac("sms", "123456")

    others = {
        box.mac("recovery", "123456"),
        box.mac("sms", "123457"),
        SecretBox(SeededRandom(2).token_bytes(32)).mac("sms", "123456"),
    }

    assert base not in others and len(others) == 3


def test_label_and_value_cannot_be_shifted_into_each_other(box):
    assert box.mac("ab", "c") != box.mac("a", "bc")


def test_a_wrong_code_does_not_match_the_stored_mac(box):
    stored = box.mac("sms", "123456")

    assert not box.mac_matches("sms", "654321", stored)
    assert not box.mac_matches("email", "123456", stored)


def test_the_mac_is_not_a_bare_sha256_of_the_code(box):
    digest = box.mac("sms", "123456")

    assert digest != b64url(hashlib.sha256(b"123456").digest())
