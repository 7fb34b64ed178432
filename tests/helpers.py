"""Test helpers: seeding a portal and a citizen, PKCE, and walking the login through the pages."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.core.clients import register_client
from idp.core.provider import Provider
from idp.store.records import CitizenRecord

ISSUER = "https://idp.test"
REDIRECT_URI = "https://portal.example/callback"
CITIZEN = CitizenDeclaration(citizen_id="001090000123", full_name="Trần Thị Bình", birth_date="1990-05-01",
                             sex="male", phone="0912 345 678", email="binh@example.org")


@dataclass
class Portal:
    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT_URI

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()


def add_portal(provider: Provider, auth_method: str = "client_secret_basic", **kwargs: Any) -> Portal:
    kwargs.setdefault("redirect_uris", [REDIRECT_URI])
    created = register_client(provider, name="Cổng thử nghiệm", auth_method=auth_method, **kwargs)
    return Portal(created.client.id, created.secret, created.client.redirect_uris[0])


def add_citizen(provider: Provider, password: str = "correct horse battery staple",
                declaration: CitizenDeclaration = CITIZEN) -> tuple[CitizenRecord, str]:
    return add_active_citizen(provider, declaration, password), password


def authorize_params(portal: Portal, pkce: Pkce, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "client_id": portal.client_id, "redirect_uri": portal.redirect_uri, "response_type": "code",
        "scope": "openid profile phone", "state": "st-" + secrets.token_hex(4), "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": pkce.challenge, "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_and_consent(http: httpx.Client | Any, portal: Portal, identifier: str, password: str,
                      pkce: Pkce | None = None, consent: bool = True, **overrides: str | None) -> dict[str, str]:
    """Walk /authorize → login page → consent page → back to the portal; returns the callback query."""
    pkce = pkce or Pkce()
    url = "/authorize?" + urlencode(authorize_params(portal, pkce, **overrides))
    return query_of(walk_pages(http, url, portal.redirect_uri, identifier, password, consent))


def walk_pages(http: httpx.Client | Any, authorize_url: str, redirect_uri: str, identifier: str, password: str,
               consent: bool = True) -> str:
    """Follow an authorization request through the provider's pages, as a browser would, filling
    the login form and answering the consent form; returns the URL the portal is sent back to."""
    response = http.get(path_of(authorize_url) if authorize_url.startswith("http") else authorize_url)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    while not location.startswith(redirect_uri):
        page = http.get(path_of(location))
        assert page.status_code == 200, page.text
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action
        if 'name="password"' in page.text:
            data = {"identifier": identifier, "password": password}
        else:
            data = {"decision": "allow" if consent else "deny"}
        response = http.post(action.group(1), data={"csrf_token": csrf_of(page.text), **data})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    return location


def exchange(http: httpx.Client | Any, portal: Portal, code: str, pkce: Pkce) -> httpx.Response:
    return http.post("/token", auth=portal.basic, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": portal.redirect_uri,
        "code_verifier": pkce.verifier})
