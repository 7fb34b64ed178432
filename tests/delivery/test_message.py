"""What a message may be, and what stays of it once it has left."""

from __future__ import annotations

import pytest

from idp.delivery import InvalidMessage, Message, backoff_delay, redact


def test_a_subject_with_a_line_break_is_refused_so_no_header_can_be_injected():
    with pytest.raises(InvalidMessage):
        Message(channel="email", to="binh@example.org", purpose="notice", text="x", subject="Hi\r\nBcc: a@b.example")


@pytest.mark.parametrize("to", ["a@b.example, c@d.example", "binh@example.org\r\nBcc: x@y.example", "not-an-address"])
def test_an_email_recipient_that_is_not_exactly_one_address_is_refused(to):
    with pytest.raises(InvalidMessage):
        Message(channel="email", to=to, purpose="notice", text="x")


@pytest.mark.parametrize("to", ["0912345678", "84912345678", "+84 912 345 678"])
def test_an_sms_recipient_that_is_not_e164_is_refused(to):
    with pytest.raises(InvalidMessage):
        Message(channel="sms", to=to, purpose="login", text="x")


def test_an_unknown_purpose_is_refused():
    with pytest.raises(InvalidMessage):
        Message(channel="sms", to="+84912345678", purpose="marketing", text="x")


def test_the_code_and_text_stay_out_of_the_repr():
    message = Message(channel="sms", to="+84912345678", purpose="login", text="Mã 482913", code="482913")

    assert "482913" not in repr(message)


def test_redaction_masks_the_code_and_any_other_long_run_of_digits():
    redacted = redact("Mã 482913, mã dự phòng 7731, phút 5", "482913")

    assert redacted == "Mã ******, mã dự phòng ******, phút 5"


def test_the_backoff_doubles_from_five_seconds_and_stops_growing_at_five_minutes():
    delays = [backoff_delay(n) for n in range(1, 9)]

    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]
