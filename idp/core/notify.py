"""Telling people things: every SMS and email goes through the outbox, never sent in-request."""

from __future__ import annotations

from idp.core.provider import Provider
from idp.delivery.message import Message
from idp.i18n import t
from idp.store.records import CitizenRecord


def send(
    provider: Provider,
    *,
    channel: str,
    to: str,
    purpose: str,
    text: str,
    code: str | None = None,
    subject: str | None = None,
    deliver: bool = True,
) -> None:
    """Queue the message; with `deliver` false nothing is queued but the same work is done (see
    `otp.send_code`), so whether a message left cannot be read from the time the request took."""
    provider.store.outbox.enqueue(
        Message(
            channel=channel,
            to=to,
            purpose=purpose,
            text=text,
            subject=subject if channel == "email" else None,
            code=code,
        ),
        provider.clock.now(),
        write=deliver,
    )
    provider.wake_outbox()


def tell_every_channel(provider: Provider, citizen: CitizenRecord, *, sms: str, email: str, lang: str = "vi") -> None:
    """A security notice to the phone and, when the account has one, the email: whoever took one
    channel (a swapped SIM, a read mailbox) still cannot hide the change from the other."""
    send(provider, channel="sms", to=citizen.phone, purpose="notice", text=sms)
    if citizen.email:
        send(
            provider,
            channel="email",
            to=citizen.email,
            purpose="notice",
            text=email,
            subject=t(lang, "email.notice.subject"),
        )
