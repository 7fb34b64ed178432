"""The HTTP adapter to the population registry (`IDP_REGISTRY_BACKEND=http`).

The contract (the README's "Claims a portal can rely on" states it for the agency side): one JSON
POST with a bearer token, `{"number", "full_name", "birth_date", "sex"}`, answered by HTTP 200 with
`{"result": "match" | "mismatch" | "unknown"}`. Anything else (another status, a body that is not
that object, a transport error or no answer within the timeout) is an outage, which the caller
treats as "not checked": a registration never waits on, or fails because of, the agency's API.
The answers are the core's `idp.core.registry` values, spelled here because delivery never imports
the core.
"""

from __future__ import annotations

import json
import logging

import httpx

from idp.delivery.capped import read_capped

log = logging.getLogger(__name__)

RESULTS = frozenset({"match", "mismatch", "unknown"})
UNAVAILABLE = "unavailable"


class HttpRegistry:
    def __init__(self, url: str, token: str, *, timeout: float, max_bytes: int) -> None:
        self._url = url
        self._token = token
        self._max_bytes = max_bytes
        # One client for the process: building one loads the CA bundle (~20 ms, more than the check
        # itself on a near network), and its pool keeps the connection to the agency open.
        # `timeout` is per phase (connect, write, read), as httpx counts it.
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=True)

    def check(self, *, number: str, full_name: str, birth_date: str, sex: str) -> str:
        body = {"number": number, "full_name": full_name, "birth_date": birth_date, "sex": sex}
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._http.stream("POST", self._url, json=body, headers=headers) as response:
                status = response.status_code
                content = read_capped(response, self._max_bytes) if status == 200 else None
        except httpx.HTTPError as exc:
            log.warning("population registry unavailable: %s", type(exc).__name__)
            return UNAVAILABLE
        if content is None:
            log.warning("population registry unavailable: HTTP %s or an answer over %d bytes", status, self._max_bytes)
            return UNAVAILABLE
        try:
            answer = json.loads(content)
        except ValueError:
            answer = None
        result = answer.get("result") if isinstance(answer, dict) else None
        if result not in RESULTS:
            log.warning("population registry unavailable: an answer outside the contract")
            return UNAVAILABLE
        return str(result)
