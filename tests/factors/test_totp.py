"""TOTP: the RFC vectors, the acceptance window, replay refusal, enrolment URI and QR code."""

from __future__ import annotations

import base64

import pyotp
import pytest

from idp.crypto.randomness import SeededRandom
from idp.crypto.totp import hotp, new_totp_secret, provisioning_uri, qr_svg, totp_code, verify_totp

RFC4226_KEY = b"12345678901234567890"
RFC6238_KEYS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
NOW = 1_800_000_015  # 15 s into step 60,000,000


@pytest.fixture
def secret() -> str:
    return new_totp_secret(SeededRandom(6238))


@pytest.mark.parametrize(
    "counter, expected",
    list(
        enumerate(["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"])
    ),
)
def test_hotp_matches_rfc_4226_appendix_d(counter, expected):
    code = hotp(RFC4226_KEY, counter)

    assert code == expected


@pytest.mark.parametrize(
    "epoch, digest, expected",
    [
        (59, "sha1", "94287082"),
        (59, "sha256", "46119246"),
        (59, "sha512", "90693936"),
        (1111111109, "sha1", "07081804"),
        (1111111109, "sha256", "68084774"),
        (1111111109, "sha512", "25091201"),
        (1111111111, "sha1", "14050471"),
        (1111111111, "sha256", "67062674"),
        (1111111111, "sha512", "99943326"),
        (1234567890, "sha1", "89005924"),
        (1234567890, "sha256", "91819424"),
        (1234567890, "sha512", "93441116"),
        (2000000000, "sha1", "69279037"),
        (2000000000, "sha256", "90698825"),
        (2000000000, "sha512", "38618901"),
        (20000000000, "sha1", "65353130"),
        (20000000000, "sha256", "77737706"),
        (20000000000, "sha512", "47863826"),
    ],
)
def test_totp_matches_rfc_6238_appendix_b(epoch, digest, expected):
    code = hotp(RFC6238_KEYS[digest], epoch // 30, digits=8, digest=digest)

    assert code == expected


def test_a_new_secret_is_160_bits_of_unpadded_base32():
    secret = new_totp_secret(SeededRandom(1))

    assert len(secret) == 32 and "=" not in secret
    assert len(base64.b32decode(secret)) == 20


def test_totp_code_agrees_with_what_pyotp_would_show(secret):
    code = totp_code(secret, NOW)

    assert code == pyotp.TOTP(secret).at(NOW)


def test_the_current_step_is_accepted_and_returned(secret):
    step = verify_totp(secret, totp_code(secret, NOW), NOW, None)

    assert step == NOW // 30


def test_the_previous_step_is_accepted(secret):
    step = verify_totp(secret, totp_code(secret, NOW - 30), NOW, None)

    assert step == NOW // 30 - 1


def test_the_step_before_the_previous_one_is_refused(secret):
    step = verify_totp(secret, totp_code(secret, NOW - 60), NOW, None)

    assert step is None


def test_the_next_step_is_refused(secret):
    step = verify_totp(secret, totp_code(secret, NOW + 30), NOW, None)

    assert step is None


def test_a_code_is_never_accepted_twice(secret):
    code = totp_code(secret, NOW)
    first = verify_totp(secret, code, NOW, None)

    second = verify_totp(secret, code, NOW + 5, first)

    assert first is not None and second is None


def test_an_older_step_is_refused_once_a_newer_one_was_accepted(secret):
    accepted = verify_totp(secret, totp_code(secret, NOW), NOW, None)

    older = verify_totp(secret, totp_code(secret, NOW - 30), NOW, accepted)

    assert older is None


def test_the_current_step_is_still_accepted_after_the_previous_one_was_used(secret):
    previous = verify_totp(secret, totp_code(secret, NOW - 30), NOW, None)

    current = verify_totp(secret, totp_code(secret, NOW), NOW, previous)

    assert current == NOW // 30


def test_spaces_in_a_typed_code_are_ignored(secret):
    code = totp_code(secret, NOW)

    step = verify_totp(secret, f" {code[:3]} {code[3:]} ", NOW, None)

    assert step == NOW // 30


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:5],  # too short
        lambda c: c + "0",  # too long
        lambda c: c[:5] + "x",  # not a digit
        lambda c: "".join(chr(ord(d) - ord("0") + 0x0660) for d in c),  # Arabic-Indic digits
        lambda c: "".join(chr(ord(d) - ord("0") + 0xFF10) for d in c),  # full-width digits
        lambda c: "",
    ],
)
def test_anything_but_six_ascii_digits_is_refused(secret, mangle):
    step = verify_totp(secret, mangle(totp_code(secret, NOW)), NOW, None)

    assert step is None


def test_the_provisioning_uri_round_trips_through_pyotp(secret):
    uri = provisioning_uri(secret, "Nguyễn Văn An", "Cổng dịch vụ công: PostID")

    parsed = pyotp.parse_uri(uri)

    assert parsed.secret == secret
    assert parsed.name == "Nguyễn Văn An"
    assert parsed.issuer == "Cổng dịch vụ công: PostID"
    assert (parsed.digits, parsed.interval, parsed.digest().name) == (6, 30, "sha1")


def test_the_provisioning_uri_spells_out_every_parameter_and_encodes_diacritics_as_utf8(secret):
    uri = provisioning_uri(secret, "Nguyễn/An", "PostID")

    assert uri.startswith("otpauth://totp/PostID:Nguy%E1%BB%85n%2FAn?")
    assert uri.endswith(f"?secret={secret}&issuer=PostID&algorithm=SHA1&digits=6&period=30")


def test_names_typed_in_decomposed_form_are_normalised_to_nfc(secret):
    decomposed = "Nguye\u0302\u0303n"

    uri = provisioning_uri(secret, decomposed, "PostID")

    assert pyotp.parse_uri(uri).name == "Nguyễn"


def test_the_qr_code_is_a_bare_inline_svg_without_script_or_external_references(secret):
    svg = qr_svg(provisioning_uri(secret, "Nguyễn Văn An", "PostID"))

    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    lowered = svg.lower()
    assert all(bad not in lowered for bad in ("<script", "<?xml", "href", "style", "<foreignobject", "on" + "load"))
    assert secret not in svg
