"""Levels of assurance are ordered (LoA1 < LoA2); an `acr` string alone can't say that."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .defaults import ASSURANCE_LEVELS
from .errors import ConfigurationError

__all__ = ["meets_level", "minimum_level"]


def _rank(level: str, levels: Sequence[str]) -> int:
    try:
        return levels.index(level)
    except ValueError:
        raise ConfigurationError(f"unknown assurance level {level!r}; known levels are {', '.join(levels)}") from None


def minimum_level(requested: Iterable[str], levels: Sequence[str] = ASSURANCE_LEVELS) -> str | None:
    """The lowest of the requested levels: `acr_values` lists what the portal accepts."""
    wanted = list(requested)
    if not wanted:
        return None
    return min(wanted, key=lambda level: _rank(level, levels))


def meets_level(achieved: str | None, required: str | None, levels: Sequence[str] = ASSURANCE_LEVELS) -> bool:
    """True when `achieved` is at least `required`; an unknown or missing `acr` meets nothing."""
    if required is None:
        return True
    required_rank = _rank(required, levels)
    if achieved is None or achieved not in levels:
        return False
    return levels.index(achieved) >= required_rank
