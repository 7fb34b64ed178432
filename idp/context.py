"""Facts about the request being served, for code far from the HTTP layer (the audit trail, logs).

Set once per request by the observability middleware; anyio copies them into worker threads,
so the core can read them without any Request in sight.
"""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
CLIENT_IP: ContextVar[str | None] = ContextVar("client_ip", default=None)
USER_AGENT: ContextVar[str | None] = ContextVar("user_agent", default=None)
