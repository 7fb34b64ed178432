"""The SMTP sender against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
from email import policy

import pytest

from idp.delivery import Message, senders_from_settings
from idp.errors import SettingsError
from tests.helpers import free_port

TEXT = "Chào Trần Thị Bình,\n\nMã đặt lại mật khẩu PostID của bạn là 771204. Mã hết hạn sau 5 phút."
SUBJECT = "Đặt lại mật khẩu PostID"


def mail(to: str = "binh@example.org") -> Message:
    return Message(channel="email", to=to, purpose="reset", text=TEXT, subject=SUBJECT, code="771204")


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return settings.with_overrides(
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_from="PostID <no-reply@postid.test>",
        delivery_timeout=2,
    )


def test_a_real_smtp_server_receives_a_utf8_email_with_the_right_headers(
    smtp_settings, smtp_server, clock, outbox, make_worker
):
    message_id = outbox.enqueue(mail(), clock.now())

    make_worker(smtp_settings).drain_once(clock.now())

    [envelope] = smtp_server.mailbox.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("no-reply@postid.test", ["binh@example.org"])
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["From"] == "PostID <no-reply@postid.test>"
    assert received["To"] == "binh@example.org"
    assert received["Subject"] == SUBJECT
    assert received["Date"].datetime.timestamp() == clock.now()
    assert received["Message-ID"] == f"<{message_id}@postid.test>"
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().replace("\r\n", "\n") == TEXT + "\n"  # CRLF on the wire
    assert envelope.original_content.isascii()
    assert outbox.get(message_id).status == "sent"


def test_a_recipient_the_server_refuses_with_550_fails_for_good(smtp_settings, smtp_server, clock, outbox, make_worker):
    smtp_server.mailbox.refused.add("nobody@example.org")
    message_id = outbox.enqueue(mail("nobody@example.org"), clock.now())

    make_worker(smtp_settings).drain_once(clock.now())

    record = outbox.get(message_id)
    assert (record.status, record.text) == ("failed", None)
    assert "550" in record.last_error
    assert smtp_server.mailbox.envelopes == []


def test_an_smtp_server_that_is_down_is_retried_later(smtp_settings, clock, outbox, make_worker):
    down = smtp_settings.with_overrides(smtp_port=free_port())
    message_id = outbox.enqueue(mail(), clock.now())

    make_worker(down).drain_once(clock.now())

    record = outbox.get(message_id)
    assert (record.status, record.attempts) == ("pending", 1)
    assert "unreachable" in record.last_error


def test_a_password_is_never_sent_to_a_remote_smtp_server_without_starttls(tmp_path, clock):
    from idp.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        email_backend="smtp",
        smtp_host="smtp.example.org",
        smtp_username="idp",
        smtp_password="secret",
        smtp_starttls=False,
    )

    with pytest.raises(SettingsError) as refused:
        senders_from_settings(settings, clock)

    assert refused.value.name == "IDP_SMTP_STARTTLS"
