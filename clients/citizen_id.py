"""The citizen ID number a portal was given, with its standing: declared or verified.

A number typed at self-registration is only declared; the provider says `citizen_id_verified: true`
once the identity was checked in person at a counter, and `citizen_id_registry_checked: true` when the
national population registry matched the declaration (which is not verification). A portal that
grants anything on the strength of the number should read `verified`, not the number alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CitizenId"]


@dataclass(frozen=True)
class CitizenId:
    number: str
    verified: bool  # checked in person at a counter (the account is LoA2)
    registry_checked: bool  # matched by the population registry; still declared unless `verified`

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> CitizenId | None:
        """From ID token or userinfo claims; None when the `citizen_id` scope was not granted. A
        missing or non-boolean flag reads as False: only an explicit `true` makes a number verified."""
        number = claims.get("citizen_id")
        if not isinstance(number, str) or not number:
            return None
        return cls(
            number=number,
            verified=claims.get("citizen_id_verified") is True,
            registry_checked=claims.get("citizen_id_registry_checked") is True,
        )
