"""Everything the sync and async clients do, written once as generators ("flows").

A flow yields each `httpx.Request` it needs and receives the `httpx.Response`; it never does I/O.
`PostIDClient` and `AsyncPostIDClient` only drive flows over their httpx client, so validation,
caching and error handling can't drift apart between the two.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from ._jose import read_header, verify_signature
from ._settings import ClientSettings
from .authorization import LoginRequest, new_login_request
from .caches import DiscoveryCache, JwksCache
from .callback import authorization_code_from_callback, parse_callback
from .client_auth import AuthContext, ClientAuth
from .defaults import ALLOWED_SIGNING_ALGORITHMS, DISCOVERY_DEFAULT_MAX_AGE, DISCOVERY_RETRY_AFTER, FAPI2_ALGORITHMS
from .dpop import DPoPKey, NonceMemory, asks_for_nonce
from .errors import (
    ConfigurationError,
    InvalidProviderResponse,
    OAuthError,
    ProviderUnavailable,
    SubjectMismatch,
    UnknownSigningKey,
)
from .fapi import FAPI2
from .id_token import IdTokenExpectations, check_id_token_claims
from .logout_token import LogoutToken, check_logout_token_claims
from .metadata import ProviderMetadata, cache_max_age
from .tokens import Introspection, TokenSet, parse_token_response

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


def refresh_inputs(tokens: TokenSet | str, subject: str | None) -> tuple[str, str | None, DPoPKey | None]:
    """A token set carries its own subject and DPoP key; a bare refresh token needs `subject`."""
    if isinstance(tokens, str):
        if not subject:
            raise ConfigurationError("refresh a bare token with subject= (the citizen it belongs to)")
        return tokens, subject, None
    if tokens.refresh_token is None:
        raise ConfigurationError("this token set has no refresh token (ask for offline_access)")
    return tokens.refresh_token, subject or tokens.subject, tokens.dpop_key


class ClientCore:
    """Configuration, caches and flows shared by both clients. Not public: use the clients."""

    def __init__(self, issuer: str, client_id: str, auth: ClientAuth, settings: ClientSettings) -> None:
        check_issuer_url(issuer)
        if not client_id:
            raise ConfigurationError("client_id is required")
        if settings.required_acr is not None and settings.required_acr not in settings.levels:
            raise ConfigurationError(f"unknown assurance level {settings.required_acr!r}")
        low, high = settings.jwks_max_age_bounds
        if not 0 <= low <= high:
            raise ConfigurationError("jwks_max_age_bounds must be (low, high) with 0 <= low <= high")
        self.issuer = issuer
        self.client_id = client_id
        self.auth = auth
        self.settings = settings
        self.redirect_uri = settings.redirect_uri
        self.post_logout_redirect_uri = settings.post_logout_redirect_uri
        self.required_acr = settings.required_acr
        self.levels = tuple(settings.levels)
        self.leeway = settings.leeway
        self.clock = settings.clock
        self.entropy = settings.entropy
        self.replay_cache = settings.replay_cache
        self.login_lifetime = settings.login_lifetime
        self.logout_token_max_age = settings.logout_token_max_age
        self.fapi2 = settings.profile == FAPI2
        # FAPI 2.0 §5.4.1: what the provider may sign this client's ID and logout tokens with.
        self.signing_algorithms = FAPI2_ALGORITHMS if self.fapi2 else ALLOWED_SIGNING_ALGORITHMS
        self._discovery = DiscoveryCache()
        self._jwks = JwksCache(
            default_max_age=settings.jwks_default_max_age,
            bounds=(low, high),
            refetch_cooldown=settings.jwks_refetch_cooldown,
        )
        self._nonces = NonceMemory()

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
        if response.status_code not in (200, 201):  # 201: a pushed authorization request (RFC 9126 §2.2)
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

    def _authenticated_post(
        self, endpoint: str, form: Mapping[str, str], *, dpop_key: DPoPKey | None = None
    ) -> httpx.Request:
        extra_form, headers = self.auth.credentials(
            AuthContext(
                client_id=self.client_id,
                issuer=self.issuer,
                endpoint=endpoint,
                now=self.clock(),
                entropy=self.entropy,
            )
        )
        if dpop_key is not None:
            headers = {**headers, "DPoP": self._proof(dpop_key, "POST", endpoint)}
        body = urlencode({**form, **extra_form})
        return httpx.Request(
            "POST",
            endpoint,
            content=body.encode("ascii"),
            headers={"Content-Type": _FORM, "Accept": "application/json", **headers},
        )

    def _proof(self, key: DPoPKey, method: str, url: str, access_token: str | None = None) -> str:
        return key.proof(
            method, url, now=self.clock(), nonce=self._nonces.get(url), access_token=access_token, entropy=self.entropy
        )

    def _with_nonce_retry(
        self, build: Callable[[], httpx.Request], dpop_key: DPoPKey | None
    ) -> Flow[tuple[httpx.Request, httpx.Response]]:
        """Send once; when a DPoP request is refused for want of the server's nonce, send again
        with the nonce it just gave (RFC 9449 §8, §9). A second refusal is the caller's to read."""
        request = build()
        response = yield request
        offered = self._nonces.remember(str(request.url), response.headers)
        if (
            dpop_key is not None
            and offered is not None
            and asks_for_nonce(response.status_code, response.headers, response.content)
        ):
            request = build()
            response = yield request
            self._nonces.remember(str(request.url), response.headers)
        return request, response

    def _post(self, endpoint: str, form: Mapping[str, str], *, dpop_key: DPoPKey | None = None) -> Flow[Any]:
        request, response = yield from self._with_nonce_retry(
            lambda: self._authenticated_post(endpoint, form, dpop_key=dpop_key), dpop_key
        )
        return self._read(request, response)

    def _check_sender_constrained(self, fields: Mapping[str, Any]) -> None:
        """FAPI 2.0 §5.3.2.1: only sender-constrained tokens. A Bearer answer to a DPoP request is a
        downgrade (a provider misconfigured, or someone in between): refused, never used."""
        if self.fapi2 and fields["token_type"] != "DPoP":
            raise InvalidProviderResponse(
                f"a FAPI 2.0 client takes DPoP-bound tokens only, the provider sent {fields['token_type']}",
                code="token_not_sender_constrained",
            )

    def new_dpop_key(self) -> DPoPKey | None:
        return DPoPKey.generate() if self.settings.dpop else None

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
        response = yield request
        document = self._read(request, response)
        max_age = cache_max_age(response.headers.get("Cache-Control"), int(self._jwks.default_max_age))
        self._jwks.store(document, now, max_age)

    def _signing_key(self, kid: str | None, alg: str, *, trusted: bool) -> Flow[Any]:
        metadata = yield from self.discover()
        now = self.clock()
        if self._jwks.needs_fetch(now):
            try:
                yield from self._fetch_jwks(metadata, now)
            except ProviderUnavailable:
                if not self._jwks.keys:
                    raise
        key = self._jwks.find(kid, alg)
        if key is None and self._jwks.may_refetch(now, trusted=trusted):
            yield from self._fetch_jwks(metadata, now)
            key = self._jwks.find(kid, alg)
        if key is None:
            raise UnknownSigningKey(f"no provider key {kid!r} for {alg}")
        return key

    def _verified(self, token: str, *, trusted: bool = False) -> Flow[tuple[dict[str, Any], dict[str, Any]]]:
        header = read_header(token, self.signing_algorithms)
        kid = header.get("kid")
        key = yield from self._signing_key(kid if isinstance(kid, str) else None, header["alg"], trusted=trusted)
        return header, verify_signature(token, key, header["alg"])

    # -- login ----------------------------------------------------------------------------------

    def start_login(
        self,
        *,
        scope: str | Sequence[str],
        acr_values: str | Sequence[str] | None,
        required_acr: str | None,
        max_age: int | None,
        prompt: str | Sequence[str] | None,
        login_hint: str | None,
        ui_locales: str | Sequence[str] | None,
        redirect_uri: str | None,
        extra: Mapping[str, str] | None,
    ) -> Flow[LoginRequest]:
        metadata = yield from self.discover()
        target = redirect_uri or self.redirect_uri
        if not target:
            raise ConfigurationError("redirect_uri is required (on the client or per login)")
        dpop_key = self.new_dpop_key()
        extra_params = dict(extra or {})
        if dpop_key is not None and not self.settings.par:  # RFC 9449 §10: bind the code to the key
            extra_params["dpop_jkt"] = dpop_key.thumbprint
        login = new_login_request(
            authorization_endpoint=metadata.authorization_endpoint,
            client_id=self.client_id,
            redirect_uri=target,
            now=self.clock(),
            entropy=self.entropy,
            scope=scope,
            acr_values=acr_values,
            required_acr=required_acr or self.required_acr,
            levels=self.levels,
            max_age=max_age,
            prompt=prompt,
            login_hint=login_hint,
            ui_locales=ui_locales,
            extra=extra_params,
        )
        if dpop_key is not None:
            login = dataclasses.replace(login, dpop_key=dpop_key.to_dict())
        if not self.settings.par:
            return login
        endpoint = metadata.pushed_authorization_request_endpoint
        if endpoint is None:
            raise ConfigurationError("the provider has no pushed_authorization_request_endpoint")
        params = dict(parse_qsl(urlsplit(login.url).query))
        params.pop("client_id", None)  # the client authentication adds it
        pushed = yield from self._post(endpoint, params, dpop_key=dpop_key)
        if not isinstance(pushed, dict) or not isinstance(pushed.get("request_uri"), str):
            raise InvalidProviderResponse("the pushed authorization response lacks request_uri")
        query = urlencode({"client_id": self.client_id, "request_uri": pushed["request_uri"]})
        separator = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
        return dataclasses.replace(login, url=metadata.authorization_endpoint + separator + query)

    def finish_login(self, callback: str | Mapping[str, str], login: LoginRequest) -> Flow[TokenSet]:
        metadata = yield from self.discover()
        params = parse_callback(callback)
        code = authorization_code_from_callback(
            params, login, metadata, now=self.clock(), lifetime=self.login_lifetime, require_iss=self.fapi2
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": login.redirect_uri,
            "code_verifier": login.code_verifier,
        }
        dpop_key = DPoPKey.from_dict(login.dpop_key) if login.dpop_key else None
        if self.fapi2 and dpop_key is None:
            raise ConfigurationError('this login was started without DPoP; profile="fapi2" needs one started by it')
        body = yield from self._post(metadata.token_endpoint, form, dpop_key=dpop_key)
        fields = parse_token_response(body, self.clock(), id_token_required=True, dpop=dpop_key is not None)
        self._check_sender_constrained(fields)
        header, claims = yield from self._verified(fields["id_token"], trusted=True)
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
        validated = check_id_token_claims(header, claims, expect, self.clock())
        return TokenSet(
            **fields,
            id_token_claims=validated,
            subject=validated.sub,
            dpop_key=dpop_key if fields["token_type"] == "DPoP" else None,
        )

    # -- after login ----------------------------------------------------------------------------

    def refresh(
        self, refresh_token: str, *, subject: str | None, scope: str | None, dpop_key: DPoPKey | None
    ) -> Flow[TokenSet]:
        """`subject=None` only for a token set that has no citizen (never from a login)."""
        if self.fapi2 and dpop_key is None:
            raise ConfigurationError('profile="fapi2" refreshes a token set (it holds the DPoP key), not a bare token')
        metadata = yield from self.discover()
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            form["scope"] = scope
        body = yield from self._post(metadata.token_endpoint, form, dpop_key=dpop_key)
        fields = parse_token_response(body, self.clock(), id_token_required=False, dpop=dpop_key is not None)
        self._check_sender_constrained(fields)
        if fields["refresh_token"] is None:  # RFC 6749 §6: not rotated, the old one stays valid
            fields["refresh_token"] = refresh_token
        bound = dpop_key if fields["token_type"] == "DPoP" else None
        if fields["id_token"] is None:
            return TokenSet(**fields, subject=subject, dpop_key=bound)
        header, claims = yield from self._verified(fields["id_token"], trusted=True)
        expect = IdTokenExpectations(
            issuer=self.issuer,
            client_id=self.client_id,
            nonce=None,
            leeway=self.leeway,
            access_token=fields["access_token"],
            levels=self.levels,
            subject=subject,
        )
        validated = check_id_token_claims(header, claims, expect, self.clock())
        if subject is None:  # OIDC Core §12.2: a refreshed ID token names the citizen of the login
            raise SubjectMismatch("a refresh returned an ID token but the token set had no subject to check")
        return TokenSet(**fields, id_token_claims=validated, subject=validated.sub, dpop_key=bound)

    def client_credentials(self, *, scope: str | Sequence[str] | None) -> Flow[TokenSet]:
        """RFC 6749 §4.4: a token for the portal itself (calling an API as the portal, no citizen)."""
        metadata = yield from self.discover()
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        dpop_key = self.new_dpop_key()
        body = yield from self._post(metadata.token_endpoint, form, dpop_key=dpop_key)
        fields = parse_token_response(body, self.clock(), id_token_required=False, dpop=dpop_key is not None)
        self._check_sender_constrained(fields)
        fields["id_token"] = None  # nothing to validate it against: no login, no nonce
        return TokenSet(**fields, dpop_key=dpop_key if fields["token_type"] == "DPoP" else None)

    def introspect(self, token: str, *, token_type_hint: str | None) -> Flow[Introspection]:
        metadata = yield from self.discover()
        if metadata.introspection_endpoint is None:
            raise ConfigurationError("the provider has no introspection endpoint")
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        body = yield from self._post(metadata.introspection_endpoint, form)
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise InvalidProviderResponse("introspection answer lacks a boolean active")
        return Introspection(active=body["active"], claims=body)

    def resource_request(
        self,
        tokens: TokenSet,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | None,
    ) -> Flow[httpx.Response]:
        """A call to an API with the access token: Bearer, or DPoP with a proof and the resource
        server's nonce. The response is the caller's to read (it is not the provider's JSON)."""

        def build() -> httpx.Request:
            return httpx.Request(
                method,
                url,
                headers={**(headers or {}), **self.authorization_headers(tokens, method, url)},
                content=content,
            )

        _, response = yield from self._with_nonce_retry(build, tokens.dpop_key)
        return response

    def authorization_headers(self, tokens: TokenSet, method: str, url: str) -> dict[str, str]:
        if tokens.dpop_key is None:
            return {"Authorization": f"Bearer {tokens.access_token}"}
        return {
            "Authorization": f"DPoP {tokens.access_token}",
            "DPoP": self._proof(tokens.dpop_key, method, url, access_token=tokens.access_token),
        }

    def userinfo(self, tokens: TokenSet | str, *, expected_sub: str) -> Flow[dict[str, Any]]:
        metadata = yield from self.discover()
        if metadata.userinfo_endpoint is None:
            raise ConfigurationError("the provider has no userinfo endpoint")
        if isinstance(tokens, str):
            tokens = TokenSet(access_token=tokens, token_type="Bearer", expires_at=None, scope=None)
        url = metadata.userinfo_endpoint
        request = httpx.Request("GET", url)
        response = yield from self.resource_request(
            tokens, "GET", url, headers={"Accept": "application/json"}, content=None
        )
        if response.headers.get("Content-Type", "").startswith("application/jwt"):
            raise InvalidProviderResponse("signed userinfo responses are not supported")
        body = self._read(request, response)
        if not isinstance(body, dict):
            raise InvalidProviderResponse("userinfo is not a JSON object")
        if body.get("sub") != expected_sub:  # OIDC Core §5.3.2: token substitution
            raise SubjectMismatch("userinfo names another subject than the ID token")
        return body

    def revoke(self, token: str, *, token_type_hint: str | None) -> Flow[None]:
        metadata = yield from self.discover()
        if metadata.revocation_endpoint is None:
            raise ConfigurationError("the provider has no revocation endpoint")
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        yield from self._post(metadata.revocation_endpoint, form)
        return None

    def logout_url(
        self,
        *,
        id_token_hint: str | None,
        post_logout_redirect_uri: str | None,
        state: str | None,
        ui_locales: str | None,
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
        """Every check but replay: the replay cache may do I/O (Redis, SQL), which the async
        client runs off the event loop."""
        header, claims = yield from self._verified(token, trusted=False)
        return check_logout_token_claims(
            header,
            claims,
            issuer=self.issuer,
            client_id=self.client_id,
            now=self.clock(),
            leeway=self.leeway,
            max_age=self.logout_token_max_age,
        )
