"""The scopes the provider knows and the claims each one releases (OIDC Core §5.4)."""

from __future__ import annotations

from typing import Any

from idp.store.records import CitizenRecord

SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "offline_access")
# Shown on the consent page in this order.
CLAIMS_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "profile": ("name", "birthdate", "gender", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
}
ACR_VALUES = ("LoA1", "LoA2")


def parse_scope(raw: str) -> list[str]:
    """Space-delimited, order kept, duplicates dropped (RFC 6749 §3.3)."""
    seen: list[str] = []
    for item in raw.split(" "):
        if item and item not in seen:
            seen.append(item)
    return seen


def claims_for(citizen: CitizenRecord, scopes: frozenset[str] | set[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims.update(name=citizen.full_name, birthdate=citizen.birth_date, gender=citizen.sex,
                      updated_at=citizen.updated_at)
    if "email" in scopes and citizen.email:
        claims.update(email=citizen.email, email_verified=citizen.email_verified)
    if "phone" in scopes:
        claims.update(phone_number=citizen.phone, phone_number_verified=citizen.phone_verified)
    return claims


def all_claims() -> list[str]:
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash"]
    for claims in CLAIMS_BY_SCOPE.values():
        names.extend(claims)
    return names
