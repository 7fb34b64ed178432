"""One POST for the HTTP senders (SMS gateway, back-channel logout): a timeout or a transport
failure becomes a retryable `DeliveryFailed` naming who failed (a target the internal-address guard
refused, a final one); the status is the sender's to judge."""

from __future__ import annotations

from typing import Any

import httpx

from idp.delivery.errors import DeliveryFailed
from idp.delivery.outbound import was_blocked


def post(client: httpx.Client, url: str, who: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.post(url, **kwargs)
    except httpx.TimeoutException:
        raise DeliveryFailed(f"{who} did not answer in time", retryable=True) from None
    except httpx.TransportError as exc:
        if was_blocked(exc):  # an internal address will not become external on retry
            raise DeliveryFailed(f"{who} is at an internal address, refused", retryable=False) from None
        raise DeliveryFailed(f"{who} is unreachable ({type(exc).__name__})", retryable=True) from None
