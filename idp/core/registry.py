"""The population-registry seam: what the core asks the national population database about a
declaration, and the answers it understands.

Real deployments reach the registry through an agency API we cannot reach here; the adapter lives
with the other outbound calls (`idp.delivery.registry`) and the provider holds it, so the core sees
only this protocol. The rule that applies an answer to a registration is `registration.check_registry`.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ANSWERS", "MATCH", "MISMATCH", "OFF", "UNAVAILABLE", "UNKNOWN", "NoRegistry", "PopulationRegistry"]

MATCH = "match"  # the registry holds this number with this name, birth date and sex
MISMATCH = "mismatch"  # the registry holds this number with other details
UNKNOWN = "unknown"  # the registry cannot say (number not held, or not decidable)
UNAVAILABLE = "unavailable"  # an outage: an HTTP error, a timeout, an answer that is not one
OFF = "off"  # no registry configured (IDP_REGISTRY_BACKEND=none)
ANSWERS = (MATCH, MISMATCH, UNKNOWN, UNAVAILABLE, OFF)


class PopulationRegistry(Protocol):
    def check(self, *, number: str, full_name: str, birth_date: str, sex: str) -> str:
        """One of ANSWERS; never raises (a failure is UNAVAILABLE)."""
        ...


class NoRegistry:
    """The default: nothing is asked, every number stays declared."""

    def check(self, *, number: str, full_name: str, birth_date: str, sex: str) -> str:
        return OFF
