"""OIDC Back-Channel Logout 1.0 §2.5: POST the logout token to a portal's registered URI.

Through the outbox like every other message, so a portal that is down is retried with backoff
instead of keeping its citizen logged in.
"""

from __future__ import annotations

import httpx

from idp.delivery.errors import DeliveryFailed
from idp.delivery.http_post import post
from idp.delivery.message import Message


class BackchannelSender:
    """2xx means the portal ended the session; 4xx (but 429) will not change on retry (§2.8)."""

    def __init__(self, timeout: float) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=True,
            follow_redirects=False,
            headers={"User-Agent": "postid-idp", "Cache-Control": "no-store"},
        )

    def send(self, message: Message) -> None:
        if message.channel != "logout":
            raise DeliveryFailed(f"the back-channel sender cannot send {message.channel}", retryable=False)
        response = post(self._client, message.to, "the portal", data={"logout_token": message.text})
        status = response.status_code
        if 200 <= status < 300:
            return
        raise DeliveryFailed(f"the portal answered HTTP {status}", retryable=status == 429 or status >= 500)

    def close(self) -> None:
        self._client.close()
