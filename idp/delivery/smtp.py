"""Email through an SMTP server: one connection per message, optional STARTTLS and login.

Messages are built with `email.message.EmailMessage`, which encodes Vietnamese text and
subjects as UTF-8 and refuses header values with line breaks.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from idp.clock import Clock
from idp.delivery.errors import DeliveryFailed
from idp.delivery.message import Message

# Used when the caller gives no subject; Vietnamese first, as the citizen pages are.
DEFAULT_SUBJECTS = {
    "register": "Mã xác nhận đăng ký PostID",
    "login": "Mã đăng nhập PostID",
    "reset": "Mã đặt lại mật khẩu PostID",
    "phone_change": "Mã xác nhận đổi số điện thoại PostID",
    "notice": "Thông báo từ PostID",
}


class SmtpSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float,
        clock: Clock,
        starttls: bool = False,
        username: str = "",
        password: str = "",
    ) -> None:
        self._host = host
        self._port = port
        self._from = sender
        self._timeout = timeout
        self._clock = clock
        self._starttls = starttls
        self._username = username
        self._password = password
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"

    def compose(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._from
        email["To"] = message.to
        email["Subject"] = message.subject or DEFAULT_SUBJECTS[message.purpose]
        email["Date"] = format_datetime(datetime.fromtimestamp(self._clock.now(), UTC), usegmt=True)
        # The outbox id makes a retried send carry the same Message-ID, so mail systems can
        # recognise the duplicate when a worker died after the server had accepted it.
        email["Message-ID"] = f"<{message.id}@{self._domain}>" if message.id else make_msgid(domain=self._domain)
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a code
        # Quoted-printable keeps the body 7-bit clean, so no server needs 8BITMIME to carry the diacritics.
        email.set_content(message.text, charset="utf-8", cte="quoted-printable")
        return email

    def send(self, message: Message) -> None:
        if message.channel != "email":
            raise DeliveryFailed(f"the SMTP sender cannot send {message.channel}", retryable=False)
        try:
            email = self.compose(message)
        except ValueError as exc:
            raise DeliveryFailed(f"the email cannot be built: {exc}", retryable=False) from None
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"the SMTP server refused the recipient ({codes})", retryable=all(400 <= code < 500 for code in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"the SMTP server answered {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            # Never fall back to a weaker session (no STARTTLS, no SMTPUTF8): that needs an operator.
            raise DeliveryFailed(f"the SMTP server lacks a required extension: {exc}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"the SMTP server is unreachable ({type(exc).__name__})", retryable=True) from None
