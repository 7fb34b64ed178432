"""`Message`: what the core hands to delivery, checked once so no sender sees a malformed one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from idp.delivery.errors import InvalidMessage

CHANNELS = ("sms", "email", "logout")
PURPOSES = ("register", "login", "reset", "phone_change", "counter", "notice", "logout")

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Deliberately plain: one @, no whitespace, no angle brackets or commas that would let a
# caller smuggle a second recipient into the To header.
_EMAIL = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,252}\.[^@\s<>,;\".]{2,63}")
_DIGIT_RUN = re.compile(r"[0-9]{4,}")
# A portal's back-channel logout URI (validated at registration: https, or http on loopback).
_URL = re.compile(r"https?://[^\s]{1,246}")
MASK = "******"

SUBJECT_MAX_LENGTH = 200
CODE_MAX_LENGTH = 16


def redact(text: str, code: str | None) -> str:
    """The text with the code masked, and every run of four or more digits too, so a code a
    caller forgot to name still does not survive in the outbox."""
    if code:
        text = text.replace(code, MASK)
    return _DIGIT_RUN.sub(MASK, text)


@dataclass(frozen=True)
class Message:
    """One message for one person.

    `code` is only for the console sender (development shows it apart from the text); real
    senders send `text`, which already contains the code. `id` is the outbox row's id, set by
    the worker: gateways and mail servers get it so a retried send can be recognised.
    """

    channel: str
    to: str
    purpose: str
    text: str = field(repr=False)
    subject: str | None = None
    code: str | None = field(default=None, repr=False)
    id: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidMessage(f"unknown channel {self.channel!r}")
        if self.purpose not in PURPOSES:
            raise InvalidMessage(f"unknown purpose {self.purpose!r}")
        pattern = {"sms": _E164, "email": _EMAIL, "logout": _URL}[self.channel]
        if not pattern.fullmatch(self.to):
            raise InvalidMessage(f"the recipient is not a valid {self.channel} address")
        if not self.text.strip():
            raise InvalidMessage("the text is empty")
        if self.subject is not None and (len(self.subject) > SUBJECT_MAX_LENGTH or _has_line_break(self.subject)):
            raise InvalidMessage("the subject is longer than 200 characters or spans lines")
        if self.code is not None and not 0 < len(self.code) <= CODE_MAX_LENGTH:
            raise InvalidMessage("the code is empty or longer than 16 characters")

    @property
    def redacted_text(self) -> str:
        return redact(self.text, self.code)


def _has_line_break(value: str) -> bool:
    return any(ch in value for ch in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
