"""How codes reach people: messages go into the outbox table in the request, and a worker sends
them through a sender per channel (console for development, an HTTP SMS gateway, SMTP email)."""

from idp.delivery.backchannel import BackchannelSender
from idp.delivery.console import ConsoleSender
from idp.delivery.errors import DeliveryError, DeliveryFailed, InvalidMessage
from idp.delivery.message import CHANNELS, PURPOSES, Message, redact
from idp.delivery.senders import Sender, senders_from_settings
from idp.delivery.sms import HttpSmsSender, is_vietnamese_mobile
from idp.delivery.smtp import SmtpSender
from idp.delivery.worker import OutboxWorker, backoff_delay, lease_for

__all__ = [
    "CHANNELS",
    "PURPOSES",
    "BackchannelSender",
    "ConsoleSender",
    "DeliveryError",
    "DeliveryFailed",
    "HttpSmsSender",
    "InvalidMessage",
    "Message",
    "OutboxWorker",
    "Sender",
    "SmtpSender",
    "backoff_delay",
    "is_vietnamese_mobile",
    "lease_for",
    "redact",
    "senders_from_settings",
]
