"""ID token validation (OIDC Core §3.1.3.7), one named check per rule, run every time.

There is deliberately no option to skip a check: a portal that trusts an unvalidated ID token
logs in whoever forged it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._jose import left_half_hash, normalise_typ
from .amr import amr_satisfies
from .citizen_id import CitizenId
from .defaults import ASSURANCE_LEVELS
from .errors import (
    InsufficientAssurance,
    NonceMismatch,
    SubjectMismatch,
    TokenExpired,
    TokenValidationError,
)
from .levels import meets_level

__all__ = ["IdTokenClaims", "IdTokenExpectations", "check_id_token_claims"]


@dataclass(frozen=True)
class IdTokenExpectations:
    """What this particular ID token must match. `nonce=None` only for refresh responses (OIDC
    Core §12.2 lets the provider omit it), where `subject` pins `sub` to the session's instead."""

    issuer: str
    client_id: str
    nonce: str | None
    leeway: int
    access_token: str | None = None
    max_age: int | None = None
    required_acr: str | None = None
    levels: Sequence[str] = ASSURANCE_LEVELS
    subject: str | None = None


@dataclass(frozen=True)
class IdTokenClaims:
    """A validated ID token: who logged in, how strongly, and what was released."""

    sub: str
    acr: str | None
    amr: tuple[str, ...]
    auth_time: int | None
    sid: str | None
    claims: Mapping[str, Any] = field(repr=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.claims.get(name, default)

    @property
    def citizen_id(self) -> CitizenId | None:
        """The citizen ID number with whether it is verified (None without the `citizen_id` scope)."""
        return CitizenId.from_claims(self.claims)

    def amr_includes(self, *, any_of: Iterable[str] = (), all_of: Iterable[str] = ()) -> bool:
        """Whether this login used every method of `all_of` and one of `any_of` (RFC 8176 values):
        `claims.amr_includes(any_of=PASSKEY_METHODS)` is "logged in with a passkey"."""
        return amr_satisfies(self.amr, any_of=any_of, all_of=all_of)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> IdTokenClaims:
        amr = claims.get("amr")
        auth_time = claims.get("auth_time")
        sid = claims.get("sid")
        acr = claims.get("acr")
        return cls(
            sub=str(claims["sub"]),
            acr=acr if isinstance(acr, str) else None,
            amr=tuple(str(item) for item in amr) if isinstance(amr, list) else (),
            auth_time=int(auth_time) if isinstance(auth_time, (int, float)) else None,
            sid=sid if isinstance(sid, str) else None,
            claims=dict(claims),
        )


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenValidationError(f"{name} is not a number", code=f"invalid_{name}")
    return float(value)


def check_typ(header: Mapping[str, Any], expected: str) -> None:
    typ = header.get("typ")
    if typ is not None and normalise_typ(typ) != expected:
        raise TokenValidationError(f"typ {typ!r} is not {expected!r}", code="invalid_typ")


def check_issuer(claims: Mapping[str, Any], issuer: str) -> None:
    if claims.get("iss") != issuer:
        raise TokenValidationError(f"iss {claims.get('iss')!r} is not {issuer!r}", code="invalid_iss")


def audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        return aud
    raise TokenValidationError("aud is missing or malformed", code="invalid_aud")


def check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    if client_id not in audiences(claims):
        raise TokenValidationError(f"aud does not contain {client_id!r}", code="invalid_aud")


def check_azp(claims: Mapping[str, Any], client_id: str) -> None:
    """§3.1.3.7 steps 4-5: `azp` names the party the token was issued to; with several
    audiences it must be present, so another audience can't replay the token at us."""
    azp = claims.get("azp")
    if azp is None and len(audiences(claims)) > 1:
        raise TokenValidationError("azp is required when aud has several values", code="invalid_azp")
    if azp is not None and azp != client_id:
        raise TokenValidationError(f"azp {azp!r} is not {client_id!r}", code="invalid_azp")


def check_expiry(claims: Mapping[str, Any], now: float, leeway: int) -> None:
    exp = _number(claims, "exp")
    if exp is None:
        raise TokenValidationError("exp is missing", code="invalid_exp")
    if now > exp + leeway:
        raise TokenExpired(f"token expired {int(now - exp)} s ago")


def check_issued_at(claims: Mapping[str, Any], now: float, leeway: int) -> None:
    iat = _number(claims, "iat")
    if iat is None:
        raise TokenValidationError("iat is missing", code="invalid_iat")
    if iat > now + leeway:
        raise TokenValidationError("iat is in the future", code="invalid_iat")


def check_subject(claims: Mapping[str, Any], expected: str | None) -> None:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenValidationError("sub is missing", code="invalid_sub")
    if expected is not None and sub != expected:
        raise SubjectMismatch("the token names another subject than the session's")


def check_nonce(claims: Mapping[str, Any], nonce: str | None) -> None:
    if nonce is None:  # refresh responses only: §12.2 lets the provider omit or repeat it
        return
    received = claims.get("nonce")
    if not isinstance(received, str) or not hmac.compare_digest(received.encode(), nonce.encode()):
        raise NonceMismatch("nonce does not match this login")


def check_at_hash(claims: Mapping[str, Any], alg: str, access_token: str | None) -> None:
    at_hash = claims.get("at_hash")
    if at_hash is None or access_token is None:
        return
    if not isinstance(at_hash, str) or not hmac.compare_digest(
        at_hash.encode(), left_half_hash(access_token, alg).encode()
    ):
        raise TokenValidationError("at_hash does not match the access token", code="invalid_at_hash")


def check_auth_time(claims: Mapping[str, Any], max_age: int | None, now: float, leeway: int) -> None:
    auth_time = _number(claims, "auth_time")
    if max_age is None:
        return
    if auth_time is None:
        raise TokenValidationError("auth_time is required when max_age was asked", code="invalid_auth_time")
    if now - auth_time > max_age + leeway:
        raise TokenValidationError("the login is older than max_age", code="auth_time_too_old")


def check_acr(claims: Mapping[str, Any], required: str | None, levels: Sequence[str]) -> None:
    acr = claims.get("acr")
    if not meets_level(acr if isinstance(acr, str) else None, required, levels):
        raise InsufficientAssurance(f"acr {acr!r} does not reach the required {required}")


def check_id_token_claims(
    header: Mapping[str, Any], claims: Mapping[str, Any], expect: IdTokenExpectations, now: float
) -> IdTokenClaims:
    """The claim checks, after the signature verified: each raises with its own `code`."""
    check_typ(header, "jwt")
    check_issuer(claims, expect.issuer)
    check_audience(claims, expect.client_id)
    check_azp(claims, expect.client_id)
    check_expiry(claims, now, expect.leeway)
    check_issued_at(claims, now, expect.leeway)
    check_subject(claims, expect.subject)
    check_nonce(claims, expect.nonce)
    check_at_hash(claims, str(header["alg"]), expect.access_token)
    check_auth_time(claims, expect.max_age, now, expect.leeway)
    check_acr(claims, expect.required_acr, expect.levels)
    return IdTokenClaims.from_claims(claims)
