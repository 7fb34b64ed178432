"""Telling people things: every SMS and email goes through the outbox, never sent in-request."""

from __future__ import annotations

import logging

from idp.core.provider import Provider
from idp.delivery.message import Message
from idp.i18n import t
from idp.metrics import OUTBOX_GIVEN_UP
from idp.store.records import CitizenRecord

log = logging.getLogger(__name__)


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
    give_up_at: int | None = None,
    replaces: str | None = None,
) -> None:
    """Queue the message; with `deliver` false nothing is queued but the same work is done (see
    `otp.send_code`), so whether a message left cannot be read from the time the request took.

    `give_up_at`: never sent after this (a code's expiry). `replaces`: the key of what this message
    supersedes; messages with that key still waiting are dropped first (a flow's earlier codes)."""
    now = provider.clock.now()
    if replaces is not None:
        dropped = provider.store.outbox.drop_replaced(replaces, now)
        if dropped:
            OUTBOX_GIVEN_UP.labels(channel, purpose, "replaced").inc(dropped)
            log.warning(
                "outbox: %d waiting %s %s message(s) given up (replaced): a newer one replaces them",
                dropped,
                channel,
                purpose,
            )
    provider.store.outbox.enqueue(
        Message(
            channel=channel,
            to=to,
            purpose=purpose,
            text=text,
            subject=subject if channel == "email" else None,
            code=code,
        ),
        now,
        write=deliver,
        give_up_at=give_up_at,
        replaces=replaces,
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
