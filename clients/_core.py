"""Everything the sync and async clients do, written once as generators ("flows").

A flow yields each `httpx.Request` it needs and receives the `httpx.Response`; it never does I/O.
`PostIDClient` and `AsyncPostIDClient` only drive flows over their httpx client, so validation,
caching and error handling can't drift apart between the two.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from ._jose import read_header, verify_signature
from .authorization import LoginRequest, new_login_request
from .caches import DiscoveryCache, JwksCache
from .callback import authorization_code_from_callback, parse_callback
from .client_auth import AuthContext, ClientAuth
from .clock import Clock, system_clock
from .defaults import (
    ASSURANCE_LEVELS,
    DISCOVERY_DEFAULT_MAX_AGE,
    DISCOVERY_RETRY_AFTER,
    JWKS_LIFESPAN,
    JWKS_REFETCH_INTERVAL,
    LEEWAY,
    LOGIN_LIFETIME,
    LOGOUT_TOKEN_MAX_AGE,
)
from .errors import (
    ConfigurationError,
    InvalidProviderResponse,
    OAuthError,
    ProviderUnavailable,
    SubjectMismatch,
    UnknownSigningKey,
)
from .id_token import IdTokenExpectations, check_id_token_claims
from .logout_token import InMemoryReplayCache, LogoutToken, ReplayCache, check_logout_token_claims, remember_jti
from .metadata import ProviderMetadata, cache_max_age
from .tokens import TokenSet, parse_token_response

T = TypeVar("T")
Flow = Generator[httpx.Request, httpx.Response, T]

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_WWW_AUTH_ERROR = re.compile(r'error="([^"]*)"')
_WWW_AUTH_DESCRIPTION = re.compile(r'error_description="([^"]*)"')
_FORM = "application/x-www-form-urlencoded"


def check_issuer_url(issuer: str) -> None:
    """https only, except plain http on a loopback address for development against a local
    provider; the issuer is compared as an exact string, so it is never normalised."""
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ConfigurationError(f"issuer {issuer!r} must be an https URL (http only on 127.0.0.1/localhost)")


class ClientCore:
    """Configuration, caches and flows shared by both clients. Not public: use the clients."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        auth: ClientAuth,
        *,
        redirect_uri: str | None = None,
        post_logout_redirect_uri: str | None = None,
        required_acr: str | None = None,
        levels: Sequence[str] = ASSURANCE_LEVELS,
        leeway: int = LEEWAY,
        clock: Clock = system_clock,
        entropy: Callable[[int], bytes] = secrets.token_bytes,
        replay_cache: ReplayCache | None = None,
        jwks_lifespan: float = JWKS_LIFESPAN,
        jwks_refetch_interval: float = JWKS_REFETCH_INTERVAL,
        login_lifetime: float = LOGIN_LIFETIME,
        logout_token_max_age: int = LOGOUT_TOKEN_MAX_AGE,
    ) -> None:
        check_issuer_url(issuer)
        if not client_id:
            raise ConfigurationError("client_id is required")
        if required_acr is not None and required_acr not in levels:
            raise ConfigurationError(f"unknown assurance level {required_acr!r}")
        self.issuer = issuer
        self.client_id = client_id
        self.auth = auth
        self.redirect_uri = redirect_uri
        self.post_logout_redirect_uri = post_logout_redirect_uri
        self.required_acr = required_acr
        self.levels = tuple(levels)
        self.leeway = leeway
        self.clock = clock
        self.entropy = entropy
        self.replay_cache: ReplayCache = replay_cache if replay_cache is not None else InMemoryReplayCache()
        self.login_lifetime = login_lifetime
        self.logout_token_max_age = logout_token_max_age
        self._discovery = DiscoveryCache()
        self._jwks = JwksCache(lifespan=jwks_lifespan, refetch_interval=jwks_refetch_interval)

    # -- plumbing -------------------------------------------------------------------------------

    def _exchange(self, request: httpx.Request) -> Flow[Any]:
        response = yield request
        return self._read(request, response)

    def _read(self, request: httpx.Request, response: httpx.Response) -> Any:
        """The JSON body of a successful response; every failure mapped to the error hierarchy."""
        if response.status_code >= 500:
            raise ProviderUnavailable(
                f"{request.url} answered {response.status_code}", status_code=response.status_code
            )
        if response.status_code >= 400:
            raise self._oauth_error(request, response)
        if response.status_code != 200:
            raise InvalidProviderResponse(
                f"{request.url} answered {response.status_code}", status_code=response.status_code
            )
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise InvalidProviderResponse(f"{request.url} did not answer JSON") from None

    @staticmethod
    def _oauth_error(request: httpx.Request, response: httpx.Response) -> OAuthError | InvalidProviderResponse:
        error: str | None = None
        description: str | None = None
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            error = body["error"]
            description = body.get("error_description") if isinstance(body.get("error_description"), str) else None
        else:  # RFC 6750 §3: a protected resource reports in WWW-Authenticate
            challenge = response.headers.get("WWW-Authenticate", "")
            found = _WWW_AUTH_ERROR.search(challenge)
            if found:
                error = found.group(1)
                text = _WWW_AUTH_DESCRIPTION.search(challenge)
                description = text.group(1) if text else None
        if error is None:
            return InvalidProviderResponse(
                f"{request.url} answered {response.status_code} without an OAuth error",
                status_code=response.status_code,
            )
        return OAuthError(
            f"{request.url.path} refused the request",
            error=error,
            error_description=description,
            status_code=response.status_code,
        )

    def _authenticated_post(self, endpoint: str, form: Mapping[str, str]) -> httpx.Request:
        extra_form, headers = self.auth.credentials(
            AuthContext(
                client_id=self.client_id,
                issuer=self.issuer,
                endpoint=endpoint,
                now=self.clock(),
                entropy=self.entropy,
            )
        )
        body = urlencode({**form, **extra_form})
        return httpx.Request(
            "POST",
            endpoint,
            content=body.encode("ascii"),
            headers={"Content-Type": _FORM, "Accept": "application/json", **headers},
        )

    # -- provider metadata and keys -------------------------------------------------------------

    def discover(self) -> Flow[ProviderMetadata]:
        now = self.clock()
        fresh = self._discovery.fresh(now)
        if fresh is not None:
            return fresh
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        request = httpx.Request("GET", url, headers={"Accept": "application/json"})
        try:
            response = yield request
            document = self._read(request, response)
        except ProviderUnavailable:
            stale = self._discovery.metadata
            if stale is None:
                raise
            self._discovery.fresh_until = now + DISCOVERY_RETRY_AFTER
            return stale
        metadata = ProviderMetadata.from_document(document, self.issuer)
        max_age = cache_max_age(response.headers.get("Cache-Control"), DISCOVERY_DEFAULT_MAX_AGE)
        self._discovery.store(metadata, max_age, now)
        return metadata

    def _fetch_jwks(self, metadata: ProviderMetadata, now: float) -> Flow[None]:
        request = httpx.Request("GET", metadata.jwks_uri, headers={"Accept": "application/json"})
        document = yield from self._exchange(request)
        self._jwks.store(document, now)

    def _signing_key(self, kid: str | None, alg: str) -> Flow[Any]:
        metadata = yield from self.discover()
        now = self.clock()
        if self._jwks.needs_fetch(now):
            try:
                yield from self._fetch_jwks(metadata, now)
            except ProviderUnavailable:
                if not self._jwks.keys:
                    raise
        key = self._jwks.find(kid, alg)
        if key is None and self._jwks.may_refetch(now):
            yield from self._fetch_jwks(metadata, now)
            key = self._jwks.find(kid, alg)
        if key is None:
            raise UnknownSigningKey(f"no provider key {kid!r} for {alg}")
        return key

    def _verified(self, token: str) -> Flow[tuple[dict[str, Any], dict[str, Any]]]:
        header = read_header(token)
        kid = header.get("kid")
        key = yield from self._signing_key(kid if isinstance(kid, str) else None, header["alg"])
        return header, verify_signature(token, key, header["alg"])

    # -- login ----------------------------------------------------------------------------------

    def start_login(self, *, redirect_uri: str | None = None, **options: Any) -> Flow[LoginRequest]:
        metadata = yield from self.discover()
        target = redirect_uri or self.redirect_uri
        if not target:
            raise ConfigurationError("redirect_uri is required (on the client or per login)")
        return new_login_request(
            authorization_endpoint=metadata.authorization_endpoint,
            client_id=self.client_id,
            redirect_uri=target,
            now=self.clock(),
            entropy=self.entropy,
            required_acr=options.pop("required_acr", None) or self.required_acr,
            levels=self.levels,
            **options,
        )

    def finish_login(self, callback: str | Mapping[str, str], login: LoginRequest) -> Flow[TokenSet]:
        metadata = yield from self.discover()
        params = parse_callback(callback)
        code = authorization_code_from_callback(params, login, metadata, now=self.clock(), lifetime=self.login_lifetime)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": login.redirect_uri,
            "code_verifier": login.code_verifier,
        }
        body = yield from self._exchange(self._authenticated_post(metadata.token_endpoint, form))
        fields = parse_token_response(body, self.clock(), id_token_required=True)
        header, claims = yield from self._verified(fields["id_token"])
        required = max(
            (level for level in (login.required_acr, self.required_acr) if level is not None),
            key=self.levels.index,
            default=None,
        )
        expect = IdTokenExpectations(
            issuer=self.issuer,
            client_id=self.client_id,
            nonce=login.nonce,
            leeway=self.leeway,
            access_token=fields["access_token"],
            max_age=login.max_age,
            required_acr=required,
            levels=self.levels,
        )
        return TokenSet(**fields, id_token_claims=check_id_token_claims(header, claims, expect, self.clock()))

    # -- after login ----------------------------------------------------------------------------

    def refresh(self, refresh_token: str, *, subject: str | None = None, scope: str | None = None) -> Flow[TokenSet]:
        metadata = yield from self.discover()
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            form["scope"] = scope
        body = yield from self._exchange(self._authenticated_post(metadata.token_endpoint, form))
        fields = parse_token_response(body, self.clock(), id_token_required=False)
        if fields["refresh_token"] is None:  # RFC 6749 §6: not rotated, the old one stays valid
            fields["refresh_token"] = refresh_token
        if fields["id_token"] is None:
            return TokenSet(**fields)
        header, claims = yield from self._verified(fields["id_token"])
        expect = IdTokenExpectations(
            issuer=self.issuer,
            client_id=self.client_id,
            nonce=None,
            leeway=self.leeway,
            access_token=fields["access_token"],
            levels=self.levels,
            subject=subject,
        )
        return TokenSet(**fields, id_token_claims=check_id_token_claims(header, claims, expect, self.clock()))

    def userinfo(self, access_token: str, *, expected_sub: str) -> Flow[dict[str, Any]]:
        metadata = yield from self.discover()
        if metadata.userinfo_endpoint is None:
            raise ConfigurationError("the provider has no userinfo endpoint")
        request = httpx.Request(
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        response = yield request
        if response.headers.get("Content-Type", "").startswith("application/jwt"):
            raise InvalidProviderResponse("signed userinfo responses are not supported")
        body = self._read(request, response)
        if not isinstance(body, dict):
            raise InvalidProviderResponse("userinfo is not a JSON object")
        if body.get("sub") != expected_sub:  # OIDC Core §5.3.2: token substitution
            raise SubjectMismatch("userinfo names another subject than the ID token")
        return body

    def revoke(self, token: str, *, token_type_hint: str | None = None) -> Flow[None]:
        metadata = yield from self.discover()
        if metadata.revocation_endpoint is None:
            raise ConfigurationError("the provider has no revocation endpoint")
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        yield from self._exchange(self._authenticated_post(metadata.revocation_endpoint, form))
        return None

    def logout_url(
        self,
        *,
        id_token_hint: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        ui_locales: str | None = None,
    ) -> Flow[str]:
        metadata = yield from self.discover()
        if metadata.end_session_endpoint is None:
            raise ConfigurationError("the provider has no end_session_endpoint")
        params = {"client_id": self.client_id}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        target = post_logout_redirect_uri or self.post_logout_redirect_uri
        if target:
            params["post_logout_redirect_uri"] = target
        if state:
            params["state"] = state
        if ui_locales:
            params["ui_locales"] = ui_locales
        separator = "&" if urlsplit(metadata.end_session_endpoint).query else "?"
        return metadata.end_session_endpoint + separator + urlencode(params)

    def validate_logout_token(self, token: str) -> Flow[LogoutToken]:
        header, claims = yield from self._verified(token)
        now = self.clock()
        logout = check_logout_token_claims(
            header,
            claims,
            issuer=self.issuer,
            client_id=self.client_id,
            now=now,
            leeway=self.leeway,
            max_age=self.logout_token_max_age,
        )
        remember_jti(self.replay_cache, logout, now=now, leeway=self.leeway, max_age=self.logout_token_max_age)
        return logout
