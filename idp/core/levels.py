"""The assurance levels a login can reach, lowest first, and the only place that orders them.

`LoA1`: self-registered, phone proven by an SMS code, ID number checked offline. `LoA2`: identity
verified in person (clerk + supervisor) *and* a two-factor login. Portals ask with `acr_values`,
tokens carry the level reached as `acr`; comparing two levels goes through `rank`, so adding a
level is one line here. People read a level under the i18n key `LABEL_KEY`.
"""

from __future__ import annotations

__all__ = ["LABEL_KEY", "LEVELS", "LOA1", "LOA2", "at_least", "highest", "is_level", "lowest", "rank", "up_to"]

LOA1 = "LoA1"
LOA2 = "LoA2"
LEVELS: tuple[str, ...] = (LOA1, LOA2)  # lowest first
LABEL_KEY = "account.level"  # "Identity level" / "Mức định danh"


def is_level(value: object) -> bool:
    return value in LEVELS


def rank(level: str) -> int:
    """1 for LoA1, 2 for LoA2; an unknown value ranks below every level, so it never satisfies one."""
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def at_least(level: str, wanted: str) -> bool:
    return rank(level) >= rank(wanted)


def lowest(levels: tuple[str, ...] | list[str]) -> str:
    """The lowest of the given levels, LoA1 when none is given."""
    return min(levels, key=rank) if levels else LOA1


def highest(*levels: str) -> str:
    return max(levels, key=rank)


def up_to(level: str) -> list[str]:
    """Every level at or below `level` (the national profile's `loAs` claim lists them)."""
    return list(LEVELS[: rank(level)])
