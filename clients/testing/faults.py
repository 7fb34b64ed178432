"""Failures a test asks the mock for, each spent by the next request it applies to: the citizen
refusing consent (`access_denied`), no session for `prompt=none` (`login_required`), a provider
answering 5xx, or answering slowly. Portals need to show each of these well, and a real provider
produces them only when it is broken or a person clicks "refuse".
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AUTHORIZATION_ERRORS", "Fault", "FaultQueue"]

AUTHORIZATION_ERRORS = frozenset(
    {
        "access_denied",
        "login_required",
        "consent_required",
        "interaction_required",
        "account_selection_required",
        "unmet_authentication_requirements",
        "temporarily_unavailable",
        "server_error",
        "invalid_request",
        "invalid_scope",
    }
)
"""Errors the authorization endpoint reports to the portal's callback (OIDC Core §3.1.2.6, RFC 6749 §4.1.2.1)."""


@dataclass(frozen=True)
class Fault:
    """One injected failure. `endpoint` is a path such as "/token" (None: whatever comes next);
    `error` an OAuth error code, `status` an HTTP status, `delay` seconds to wait before answering
    (alone: then answer normally)."""

    endpoint: str | None = None
    error: str | None = None
    status: int | None = None
    description: str | None = None
    delay: float = 0.0

    def applies_to(self, path: str) -> bool:
        return self.endpoint is None or self.endpoint == path


class FaultQueue:
    """Faults in the order they were asked for; a request takes the first one that applies to it."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, path: str) -> Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.applies_to(path):
                return self._faults.pop(index)
        return None

    def clear(self) -> None:
        self._faults.clear()

    def __len__(self) -> int:
        return len(self._faults)
