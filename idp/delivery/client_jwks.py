"""Fetching the JWKS a `private_key_jwt` client publishes at its `jwks_uri`, so a portal rotates its
keys without telling anyone.

Outbound HTTP lives in `delivery/` with the other senders, never in the core. The cache belongs to
the `JwksFetcher` the provider holds and is timed by the provider's clock: a key set is reused for
5 minutes, and an assertion signed with an unknown `kid` refetches it at most once a minute, so
forged `kid`s cannot make the provider hammer a portal. A fetch can take seconds: callers make sure
no database connection is held meanwhile (see `http/client_auth.client_call`).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from idp.clock import Clock
from idp.crypto.assertions import key_ids, parse_jwks
from idp.crypto.jwts import BadToken
from idp.delivery.capped import read_capped
from idp.delivery.outbound import outbound_client, was_blocked


class JwksFetcher:
    """A fetch that fails or answers something other than a JWKS is a `BadToken`: to the core it is
    an assertion that cannot be checked, which is how the client learns of it."""

    def __init__(
        self,
        clock: Clock,
        *,
        cache_seconds: int,
        refetch_at_most_every: int,
        timeout: float,
        max_bytes: int,
        allow_private: bool = False,
    ) -> None:
        """The limits come from `idp.core.policy` (bootstrap hands them over: delivery never imports the
        core), so every default lives in one place."""
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._refetch_every = refetch_at_most_every
        self._max_bytes = max_bytes
        # One pooled client for the process (a client per fetch cost ~20 ms of set-up each time).
        self._http = outbound_client(allow_private=allow_private, timeout=timeout)
        self._cache: dict[str, tuple[int, dict[str, Any]]] = {}  # jwks_uri → (fetched_at, jwks)
        self._lock = threading.Lock()

    def keys(self, uri: str, kid: str | None) -> dict[str, Any]:
        """The key set at `uri`, from the cache while it is fresh and knows `kid`."""
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(uri)
        if cached is not None:
            fetched_at, jwks = cached
            unknown_kid = kid is not None and kid not in key_ids(jwks)
            if now - fetched_at < self._cache_seconds and not (unknown_kid and now - fetched_at >= self._refetch_every):
                return jwks
        jwks = self.fetch(uri)
        with self._lock:
            self._cache[uri] = (now, jwks)
        return jwks

    def fetch(self, uri: str) -> dict[str, Any]:
        """One GET, no redirects, certificates verified, never to an internal address, the body capped
        as it arrives: a key set larger than `max_bytes` is refused without reading the rest of it."""
        try:
            with self._http.stream("GET", uri, headers={"Accept": "application/jwk-set+json, application/json"}) as got:
                if got.status_code != 200:
                    raise BadToken(f"the client's JWKS answered HTTP {got.status_code}")
                body = read_capped(got, self._max_bytes)
                if body is None:
                    raise BadToken(f"the client's JWKS is larger than {self._max_bytes} bytes")
        except httpx.HTTPError as exc:
            if was_blocked(exc):
                raise BadToken("the client's jwks_uri leads to an internal address") from None
            raise BadToken(f"the client's JWKS could not be fetched ({type(exc).__name__})") from None
        return parse_jwks(body.decode("utf-8", errors="replace"))
