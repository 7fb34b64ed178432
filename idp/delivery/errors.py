"""The delivery package's errors: one root, and the one failure a sender reports."""

from __future__ import annotations

from idp.errors import IdpError


class DeliveryError(IdpError):
    """Root of every error the delivery package raises on purpose. Never raised directly."""


class InvalidMessage(DeliveryError, ValueError):
    """A message that must not be queued or sent: unknown channel or purpose, a malformed
    recipient, or a header that would let a caller inject another header."""


class DeliveryFailed(DeliveryError):
    """A send did not happen. `retryable` tells the worker whether trying later can help
    (a busy or unreachable gateway) or not (a refused recipient, a rejected request).

    The message is safe to store and log: senders never put the text or the code in it.
    """

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
