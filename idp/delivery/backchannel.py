"""OIDC Back-Channel Logout 1.0 §2.5: POST the logout token to a portal's registered URI.

Through the outbox like every other message, so a portal that is down is retried with backoff
instead of keeping its citizen logged in.
"""

from __future__ import annotations

from collections.abc import Callable

from idp.delivery.errors import DeliveryFailed
from idp.delivery.http_post import post
from idp.delivery.message import Message
from idp.delivery.outbound import outbound_client
from idp.errors import IdpError


class BackchannelSender:
    """2xx means the portal ended the session; 4xx (but 429) will not change on retry (§2.8)."""

    def __init__(
        self, timeout: float, *, allow_private: bool = False, renew: Callable[[str], str] | None = None
    ) -> None:
        """The URI is the portal's to choose, so it goes through the internal-address guard
        (`idp.delivery.outbound`) unless IDP_OUTBOUND_ALLOW_PRIVATE says otherwise. `renew` signs a
        queued token again as it leaves (`idp.core.logout.renew_on_send`), so a retry is not expired."""
        self._renew = renew
        self._client = outbound_client(
            allow_private=allow_private,
            timeout=timeout,
            headers={"User-Agent": "postid-idp", "Cache-Control": "no-store"},
        )

    def send(self, message: Message) -> None:
        if message.channel != "logout":
            raise DeliveryFailed(f"the back-channel sender cannot send {message.channel}", retryable=False)
        try:
            token = message.text if self._renew is None else self._renew(message.text)
        except (IdpError, LookupError) as exc:  # its key was removed since: no retry will sign it
            raise DeliveryFailed(f"the logout token cannot be signed again: {exc}", retryable=False) from None
        response = post(self._client, message.to, "the portal", data={"logout_token": token})
        status = response.status_code
        if 200 <= status < 300:
            return
        raise DeliveryFailed(f"the portal answered HTTP {status}", retryable=status == 429 or status >= 500)

    def close(self) -> None:
        self._client.close()
