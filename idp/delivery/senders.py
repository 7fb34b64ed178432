"""The `Sender` seam and the choice of sender per channel, made once from settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from idp.clock import Clock
from idp.delivery.backchannel import BackchannelSender
from idp.delivery.console import ConsoleSender
from idp.delivery.message import Message
from idp.delivery.sms import HttpSmsSender
from idp.delivery.smtp import SmtpSender
from idp.errors import SettingsError
from idp.settings import Settings, is_loopback_host

log = logging.getLogger("idp.delivery")


class Sender(Protocol):
    def send(self, message: Message) -> None:
        """Deliver or raise `DeliveryFailed`; returning means the message has left."""
        ...


def senders_from_settings(
    settings: Settings, clock: Clock, *, renew_logout_token: Callable[[str], str] | None = None
) -> dict[str, Sender]:
    """One sender per channel. A console channel says so loudly: its codes are readable on disk.
    `renew_logout_token`: see `BackchannelSender`."""
    senders: dict[str, Sender] = {}
    console = ConsoleSender(settings.data_dir, clock)
    if settings.sms_backend == "http":
        if not settings.sms_gateway_url:
            raise SettingsError("IDP_SMS_GATEWAY_URL", "is required when IDP_SMS_BACKEND=http")
        if not settings.sms_gateway_token:
            log.warning("IDP_SMS_GATEWAY_TOKEN is empty: the SMS gateway will be called without credentials")
        senders["sms"] = HttpSmsSender(
            settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_brandname, settings.delivery_timeout
        )
    else:
        senders["sms"] = console
    if settings.email_backend == "smtp":
        if settings.smtp_username and not settings.smtp_starttls and not is_loopback_host(settings.smtp_host):
            raise SettingsError("IDP_SMTP_STARTTLS", "must be true when a password is sent to a non-loopback host")
        senders["email"] = SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            timeout=settings.delivery_timeout,
            clock=clock,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    else:
        senders["email"] = console
    senders["logout"] = BackchannelSender(
        settings.delivery_timeout, allow_private=settings.outbound_allow_private, renew=renew_logout_token
    )
    console_channels = [channel for channel, sender in senders.items() if sender is console]
    if console_channels:
        log.warning(
            "development delivery for %s: codes are logged and written to %s; never use this in production",
            ", ".join(console_channels),
            console.path,
        )
    return senders
