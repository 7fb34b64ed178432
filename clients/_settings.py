"""The clients' tuning, gathered once from their explicit keyword parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .clock import Clock
from .fapi import Profile
from .logout_token import ReplayCache


@dataclass(frozen=True)
class ClientSettings:
    redirect_uri: str | None
    post_logout_redirect_uri: str | None
    required_acr: str | None
    levels: Sequence[str]
    leeway: int
    clock: Clock
    entropy: Callable[[int], bytes]
    replay_cache: ReplayCache
    dpop: bool
    par: bool
    jwks_default_max_age: float
    jwks_max_age_bounds: tuple[float, float]
    jwks_refetch_cooldown: float
    login_lifetime: float
    logout_token_max_age: int
    profile: Profile = "standard"
