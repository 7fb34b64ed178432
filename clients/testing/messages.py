"""The plain values every endpoint speaks: a `MockRequest` in, a `MockResponse` out, and the two
refusals an endpoint raises. Keeping HTTP out of the protocol logic is what lets one provider answer
through an httpx transport, as an ASGI app and on a real port alike; refusals are rendered in one
place (`MockProvider.handle`, or `userinfo`'s RFC 6750 challenge).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["BearerFailure", "MockRequest", "MockResponse", "OAuthFailure", "add_query", "base_path", "endpoint_url"]


@dataclass(frozen=True)
class MockRequest:
    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class MockResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> MockResponse:
        return cls(
            status,
            {"content-type": "application/json", "cache-control": "no-store", **(headers or {})},
            json.dumps(value, ensure_ascii=False).encode("utf-8"),
        )

    @classmethod
    def redirect(cls, location: str) -> MockResponse:
        return cls(303, {"location": location, "cache-control": "no-store"}, b"")

    @classmethod
    def page(cls, title: str, body_html: str, status: int = 200) -> MockResponse:
        document = (
            f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"</head><body><h1>{html.escape(title)}</h1>{body_html}</body></html>"
        )
        return cls(status, {"content-type": "text/html; charset=utf-8"}, document.encode("utf-8"))


class OAuthFailure(Exception):
    """A back-channel refusal: rendered as the JSON error body, with `WWW-Authenticate` on a 401
    `invalid_client`."""

    def __init__(self, error: str, description: str, status: int = 400, headers: Mapping[str, str] | None = None):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.headers = dict(headers or {})


class BearerFailure(Exception):
    """A resource's refusal of an access token: a 401 with a Bearer or DPoP challenge (RFC 6750 §3)."""

    def __init__(self, description: str, error: str = "invalid_token", dpop: bool = False) -> None:
        super().__init__(description)
        self.description, self.error, self.dpop = description, error, dpop


def endpoint_url(issuer: str, path: str) -> str:
    """Every URL the mock builds comes from its issuer, never from the request, as on the real provider."""
    return issuer.rstrip("/") + path


def base_path(issuer: str) -> str:
    return urlsplit(issuer).path.rstrip("/")


def add_query(url: str, params: Mapping[str, str]) -> str:
    if not params:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)
