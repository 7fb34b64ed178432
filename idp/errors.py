"""The provider's errors: one root, one class per OAuth/OIDC error code.

Each protocol error carries the code a client sees (`error`), the HTTP status,
a public `description` and a private `detail` that only reaches the log. The
HTTP layer renders them in one place (`idp.http.render`); the core raises them.

A domain refusal (`Refusal`: a wrong code, a send budget spent, a flow gone) carries what every
surface needs to answer it the same way: the status, the i18n key a person reads, the English
description an operator or a program reads, and the JSON `error` code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class IdpError(Exception):
    """Root of every error the provider raises on purpose. Never raised directly."""


class SettingsError(IdpError):
    """A setting has a bad value; start-up stops and names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class Refusal(IdpError):
    """A domain rule said no to what a person, an operator or a program asked. Never raised directly.

    Each surface renders it in one place (`idp.http.render` for pages and the OAuth endpoints,
    `idp.http.register` for the registration API, `idp.admin.guard` for the console): a person
    reads `message_key` in their language, an operator or a program reads `description`.
    """

    status_code = 400
    # The JSON APIs answer with this status when it differs from the pages' (a refused code is
    # 401 on a page, where it asks for the code again, and 400 in the registration API).
    api_status_code: int | None = None
    error = "refused"
    message_key = "error.generic"

    @property
    def description(self) -> str:
        return str(self)

    @property
    def headers(self) -> dict[str, str]:
        """Headers a JSON answer carries with the refusal (a Retry-After, say)."""
        return {}

    @property
    def fields(self) -> dict[str, object]:
        """Extra members of a JSON answer, between `error` and `error_description`."""
        return {}

    @property
    def message_params(self) -> dict[str, object]:
        """What the message's words need (how many minutes to wait, say)."""
        return {}


class DeskRefusal(Refusal):
    """A refusal at the verification desk or the counter, one of a fixed set: `reason` names it, the
    JSON `error` is `<prefix>_<reason>` and staff read the sentence `REASONS` keeps for it."""

    status_code = 409
    PREFIX = "desk"
    REASONS: ClassVar[Mapping[str, str]] = {}

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = f"{self.PREFIX}_{reason}"

    @property
    def description(self) -> str:
        return self.REASONS[self.reason]


class Expired(Refusal):
    """What the page worked on is gone (expired, finished, or started in another browser): the
    person must begin again. Answered with a page of its own, never inside the form."""

    error = "invalid_flow"
    message_key = "error.expired"


class ValidationError(Refusal):
    """A value supplied by a person or operator is refused.

    `field` names the value, `code` the rule it broke; `idp.i18n` words it in the citizen's
    language, so the same refusal reads right on a page, in the JSON API and in the CLI.
    """

    error = "invalid_request"

    def __init__(self, field: str, code: str, **params: object) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code
        self.params = params

    @property
    def message_key(self) -> str:  # type: ignore[override]  # the rule broken names the words
        return f"invalid.{self.code}"

    @property
    def fields(self) -> dict[str, object]:
        return {"field": self.field, "reason": self.code}


class OAuthError(IdpError):
    """A protocol error with its standard code. Never raised directly."""

    error = "server_error"
    status_code = 400

    def __init__(self, description: str = "", *, detail: str = "") -> None:
        super().__init__(description or self.error)
        self.description = description
        self.detail = detail
        # Set only once the client and its redirect URI are proven (RFC 6749 §4.1.2.1):
        # then, and only then, the error travels back to the client instead of to a page.
        self.redirect_uri: str | None = None
        self.state: str | None = None
        # Headers the answer must carry (a DPoP-Nonce, say); rendered with the error.
        self.headers: dict[str, str] = {}

    def redirect_to(self, redirect_uri: str, state: str | None) -> OAuthError:
        self.redirect_uri = redirect_uri
        self.state = state
        return self


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2: the request is missing a required parameter, includes an unsupported parameter
    value, repeats a parameter, or is otherwise malformed."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed (unknown client, no client authentication
    included, or unsupported authentication method). Answered with 401 and WWW-Authenticate."""

    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: the authorization grant or refresh token is invalid, expired, revoked, does not
    match the redirection URI used in the authorization request, or was issued to another client."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: the authenticated client is not authorized to use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2: the grant type is not supported by the authorization server."""

    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: the server does not support obtaining a code using this method."""

    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    """RFC 6749 §4.1.2.1: the requested scope is invalid, unknown, or malformed."""

    error = "invalid_scope"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: the resource owner or authorization server denied the request."""

    error = "access_denied"


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1: an unexpected condition prevented the server from fulfilling the request."""

    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1: the authorization server is currently unable to handle the request due to
    a temporary overloading or maintenance of the server. Answered with 503 and Retry-After."""

    error = "temporarily_unavailable"
    status_code = 503


class LoginRequired(OAuthError):
    """OIDC Core §3.1.2.6: the server requires end-user authentication (prompt=none)."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OIDC Core §3.1.2.6: the server requires end-user consent (prompt=none)."""

    error = "consent_required"


class RequestNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: the server does not support the `request` parameter."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: the server does not support the `request_uri` parameter."""

    error = "request_uri_not_supported"


class UnmetAuthenticationRequirements(OAuthError):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: the server cannot authenticate the
    end-user at the level the client asked for."""

    error = "unmet_authentication_requirements"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is expired, revoked, malformed, or invalid for other reasons."""

    error = "invalid_token"
    status_code = 401


class PayloadTooLarge(InvalidRequest):
    """The body exceeds the configured limit; an invalid_request answered with 413."""

    status_code = 413


class UnsupportedMediaType(InvalidRequest):
    """The body is not application/x-www-form-urlencoded; an invalid_request answered with 415."""

    status_code = 415


class InvalidRequestUri(OAuthError):
    """RFC 9126 §2.2: the request_uri is invalid, expired, already used, or another client's."""

    error = "invalid_request_uri"


class InvalidDpopProof(OAuthError):
    """RFC 9449 §7.1/§5: the DPoP proof is missing, invalid, replayed, or does not match the token."""

    error = "invalid_dpop_proof"


class UseDpopNonce(OAuthError):
    """RFC 9449 §8: the server requires a nonce in the DPoP proof; the answer carries DPoP-Nonce."""

    error = "use_dpop_nonce"
