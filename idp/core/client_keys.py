"""A client's public keys for `private_key_jwt`: registered inline, or fetched from its JWKS URL
(timeouts, a 5-minute cache, one refetch on an unknown `kid` at most once a minute), so a
portal rotates its keys without telling anyone."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from idp.core.policy import JWKS_CACHE_SECONDS, JWKS_FETCH_TIMEOUT, JWKS_REFETCH_AT_MOST_EVERY, MAX_JWKS_BYTES
from idp.core.provider import Provider
from idp.crypto.assertions import key_ids, parse_jwks
from idp.crypto.jwts import BadToken
from idp.store.records import ClientRecord

_lock = threading.Lock()
_cache: dict[str, tuple[int, dict[str, Any]]] = {}  # jwks_uri → (fetched_at, jwks)


def _fetch(uri: str) -> dict[str, Any]:
    try:
        with httpx.Client(timeout=JWKS_FETCH_TIMEOUT, follow_redirects=False, verify=True) as http:
            response = http.get(uri, headers={"Accept": "application/jwk-set+json, application/json"})
    except httpx.HTTPError as exc:
        raise BadToken(f"the client's JWKS could not be fetched ({type(exc).__name__})") from None
    if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
        raise BadToken(f"the client's JWKS answered HTTP {response.status_code}")
    return parse_jwks(response.text)


def client_jwks(provider: Provider, client: ClientRecord, kid: str | None) -> dict[str, Any]:
    if client.jwks is not None:
        return client.jwks
    if not client.jwks_uri:
        raise BadToken("the client registered no keys")
    now = provider.clock.now()
    with _lock:
        cached = _cache.get(client.jwks_uri)
    fresh_enough = cached is not None and now - cached[0] < JWKS_CACHE_SECONDS
    unknown_kid = cached is not None and kid is not None and kid not in key_ids(cached[1])
    if cached is None or not fresh_enough or (unknown_kid and now - cached[0] >= JWKS_REFETCH_AT_MOST_EVERY):
        jwks = _fetch(client.jwks_uri)
        with _lock:
            _cache[client.jwks_uri] = (now, jwks)
        return jwks
    return cached[1]
