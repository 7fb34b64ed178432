"""Signing-key rotation policy: when a new key may sign and how long a retired one stays published.

A new key is published as `next` and signs only from the following rotation, once it has been
in the JWKS for at least the relying parties' cache time (`IDP_JWKS_MAX_AGE`, 300 s), so every
portal can already verify its first token. A retired key stays published until every token it
signed has expired (the longest of the ID and access token lifetimes, plus the clock leeway)
plus that cache time. The other provider processes pick the change up from the keys folder.
"""

from __future__ import annotations

from typing import Any

from idp.core import audit
from idp.core.provider import Provider
from idp.crypto.keys import SIGNING_ALGS, KeyInfo, RotationRefused, list_keys, load_keys, rotate_keys

__all__ = ["RotationRefused", "keep_retired_for", "listing", "publish_for", "rotate"]


def publish_for(provider: Provider) -> int:
    return provider.settings.jwks_max_age


def keep_retired_for(provider: Provider) -> int:
    settings = provider.settings
    return max(settings.id_token_ttl, settings.access_token_ttl) + settings.clock_leeway + settings.jwks_max_age


def listing(provider: Provider) -> list[KeyInfo]:
    return list_keys(provider.settings.keys_dir, now=provider.clock.now())


def rotate(
    provider: Provider, *, actor: str, algs: tuple[str, ...] = SIGNING_ALGS, force: bool = False, ip: str | None = None
) -> list[dict[str, Any]]:
    """One rotation step per algorithm (see `idp.crypto.keys.rotate_keys`); this process reloads
    its key ring at once, the others when they next look at the keys folder."""
    results = []
    for alg in algs:
        try:
            result = rotate_keys(
                provider.settings.keys_dir,
                alg,
                now=provider.clock.now(),
                publish_for=publish_for(provider),
                keep_for=keep_retired_for(provider),
                force=force,
            )
        except RotationRefused as exc:
            audit.record(
                provider,
                action="keys.rotate",
                outcome="denied",
                actor=actor,
                ip=ip,
                detail={"alg": alg, "ready_at": int(exc.ready_at)},
            )
            raise
        audit.record(
            provider,
            action="keys.rotate",
            outcome="success",
            actor=actor,
            ip=ip,
            subject=f"key:{result['activated'] or result['published']}",
            detail=result,
        )
        results.append(result)
    provider.keys = load_keys(provider.settings.keys_dir, now=provider.clock.now())
    return results
