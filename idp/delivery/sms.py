"""SMS through an HTTP gateway: one JSON POST per message, bearer-authenticated.

Only Vietnamese mobile numbers are ever sent to. Anything else is refused before the gateway
is called: SMS pumping (bots requesting codes to premium or foreign numbers, billed to us) is
the classic abuse of a code-sending endpoint, and the provider has no reason to text abroad.
"""

from __future__ import annotations

import re

import httpx

from idp.delivery.errors import DeliveryFailed
from idp.delivery.http_post import post
from idp.delivery.message import Message

# +84, then the nine national digits of a mobile number (prefixes 3, 5, 7, 8, 9 since the
# 2018 renumbering); landlines (+842…) are excluded.
_VIETNAMESE_MOBILE = re.compile(r"\+84[35789][0-9]{8}")


def is_vietnamese_mobile(phone: str) -> bool:
    return _VIETNAMESE_MOBILE.fullmatch(phone) is not None


class HttpSmsSender:
    """POSTs `{"from", "to", "text", "id"}`; 2xx is sent, 429 and 5xx are worth retrying, other
    4xx are not (the gateway has refused this request and will refuse it again).

    The outbox id goes in the `Idempotency-Key` header too (the IETF httpapi draft's name, which
    gateways that deduplicate read): every retry of one message carries the same key, so a send
    whose answer was lost (a timeout after the gateway had taken it) is recognisably a duplicate."""

    def __init__(self, url: str, token: str, brandname: str, timeout: float) -> None:
        self._url = url
        self._brandname = brandname
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=True,
            follow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "postid-idp"},
        )

    def send(self, message: Message) -> None:
        if message.channel != "sms":
            raise DeliveryFailed(f"the SMS gateway cannot send {message.channel}", retryable=False)
        if not is_vietnamese_mobile(message.to):
            raise DeliveryFailed("refused: not a Vietnamese mobile number", retryable=False)
        payload = {"from": self._brandname, "to": message.to, "text": message.text, "id": message.id}
        headers = {"Idempotency-Key": message.id} if message.id else {}
        response = post(self._client, self._url, "the SMS gateway", json=payload, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return
        # Only the status is kept: a gateway's error body may echo the text, code included.
        retryable = not (400 <= status < 500) or status == 429
        raise DeliveryFailed(f"the SMS gateway answered HTTP {status}", retryable=retryable)

    def close(self) -> None:
        self._client.close()
