"""The SDK's errors.

`PostIDError` is the one root to catch; it is never raised itself. Each class has a stable,
machine-readable `code`; an instance may narrow it (a `TokenValidationError` says which claim
failed, e.g. `invalid_aud`). When the provider answered with an RFC 6749 error, its `error`
and `error_description` are kept verbatim, apart from the SDK's own `description`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .amr import AmrRequirement

__all__ = [
    "AuthorizationDenied",
    "CallbackError",
    "ConfigurationError",
    "InsufficientAssurance",
    "InvalidProviderResponse",
    "InvalidSignature",
    "IssuerMismatch",
    "NonceMismatch",
    "OAuthError",
    "PostIDError",
    "ProviderUnavailable",
    "ReplayedToken",
    "StateMismatch",
    "SubjectMismatch",
    "TokenExpired",
    "TokenValidationError",
    "UnknownSigningKey",
    "UnmetAuthenticationMethods",
]


class PostIDError(Exception):
    """Root of every error the SDK raises; never raised directly."""

    code: str = "postid_error"

    def __init__(
        self,
        description: str,
        *,
        code: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        if code is not None:
            self.code = code
        self.error = error
        self.error_description = error_description
        self.status_code = status_code

    def __str__(self) -> str:
        text = f"[{self.code}] {self.description}"
        if self.error:
            text += f" (provider said {self.error}"
            text += f": {self.error_description})" if self.error_description else ")"
        return text


class ConfigurationError(PostIDError):
    """The SDK was set up or called with values it cannot work with (caught before any request)."""

    code = "configuration_error"


class ProviderUnavailable(PostIDError):
    """The provider could not be reached, timed out, or answered with a 5xx."""

    code = "provider_unavailable"


class InvalidProviderResponse(PostIDError):
    """The provider answered, but not with what the protocol promises (bad JSON, missing fields)."""

    code = "invalid_provider_response"


class OAuthError(PostIDError):
    """The provider answered a back-channel request with an RFC 6749 §5.2 error; `error` holds its code."""

    code = "oauth_error"


class AuthorizationDenied(OAuthError):
    """The authorization response carried `error` (RFC 6749 §4.1.2.1), e.g. `access_denied` or
    `unmet_authentication_requirements`."""

    code = "authorization_denied"


class CallbackError(PostIDError):
    """The redirect back to the portal cannot be trusted or is incomplete."""

    code = "invalid_callback"


class StateMismatch(CallbackError):
    """`state` on the callback differs from the one stored for this browser: a forged or crossed
    login (RFC 6749 §10.12, CSRF)."""

    code = "state_mismatch"


class IssuerMismatch(PostIDError):
    """An issuer identifier differs from the configured one: in discovery (OIDC Discovery §4.3) or
    in the callback's `iss` (RFC 9207, mix-up attack)."""

    code = "issuer_mismatch"


class TokenValidationError(PostIDError):
    """A JWT from the provider failed validation; `code` names the rule that failed."""

    code = "invalid_token"


class InvalidSignature(TokenValidationError):
    """The signature does not verify, or the algorithm is not on the allow-list."""

    code = "invalid_signature"


class UnknownSigningKey(TokenValidationError):
    """No key in the provider's JWKS has the token's `kid`, even after a refetch."""

    code = "unknown_kid"


class TokenExpired(TokenValidationError):
    """`exp` has passed (beyond the leeway)."""

    code = "token_expired"


class NonceMismatch(TokenValidationError):
    """The ID token's `nonce` differs from the one sent with this login (OIDC Core §3.1.3.7 step 11)."""

    code = "nonce_mismatch"


class InsufficientAssurance(TokenValidationError):
    """The token's `acr` is below the level the portal required; step the user up."""

    code = "insufficient_assurance"


class ReplayedToken(TokenValidationError):
    """A token with this `jti` was already accepted (back-channel logout replay)."""

    code = "replayed_token"


class SubjectMismatch(TokenValidationError):
    """Userinfo or a refreshed ID token names another subject (OIDC Core §5.3.2, §12.2)."""

    code = "sub_mismatch"


class UnmetAuthenticationMethods(PostIDError):
    """The citizen logged in again for a page that requires certain methods (`requires_amr`), and
    that login did not use them either: the page is refused (403) instead of asking once more."""

    code = "unmet_amr"
    required: AmrRequirement
    """What the page asks for."""
    used: tuple[str, ...]
    """The `amr` of the citizen's login."""
    retry_url: str | None
    """The portal's `/login` for this page again (a fresh login), for a link on the page."""

    def __init__(
        self, description: str, *, required: AmrRequirement, used: tuple[str, ...], retry_url: str | None = None
    ) -> None:
        super().__init__(description)
        self.required = required
        self.used = used
        self.retry_url = retry_url
