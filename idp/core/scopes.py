"""The scopes the provider knows and the claims each one releases (OIDC Core §5.4)."""

from __future__ import annotations

from typing import Any

from idp.core.levels import LEVELS, LOA2, at_least, up_to
from idp.store.records import CitizenRecord

SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "offline_access", "citizen_id", "national_profile")
# What a portal may ask for unless an operator allows more: the citizen ID number (and the national
# profile that can carry it) are released only to portals allowed them, and with the citizen's consent.
DEFAULT_CLIENT_SCOPES = ("openid", "profile", "email", "phone", "offline_access")
# Shown on the consent page in this order.
CLAIMS_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "profile": ("name", "birthdate", "gender", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    # A self-registered number is declared; `citizen_id_verified` is true once the counter verified the
    # identity (LoA2), `citizen_id_registry_checked` once the population registry matched the declaration.
    "citizen_id": ("citizen_id", "citizen_id_verified", "citizen_id_registry_checked"),
    # The national SSO's field names, so a portal written against it switches by configuration.
    "national_profile": (
        "SoDinhDanh",
        "HoVaTen",
        "NgayThangNamSinh",
        "GioiTinh",
        "SoDienThoai",
        "ThuDienTu",
        "LoaiTaiKhoan",
        "loAs",
    ),
}
ACR_VALUES = LEVELS


def parse_scope(raw: str) -> list[str]:
    """Space-delimited, order kept, duplicates dropped (RFC 6749 §3.3)."""
    seen: list[str] = []
    for item in raw.split(" "):
        if item and item not in seen:
            seen.append(item)
    return seen


def citizen_id_verified(citizen: CitizenRecord) -> bool:
    """Verified means checked in person at the counter (clerk + supervisor), which is what raises an
    account to LoA2; a registry match alone is not verification."""
    return at_least(citizen.level, LOA2)


def citizen_id_claims(citizen: CitizenRecord) -> dict[str, Any]:
    """The number with its standing (OIDC's `*_verified` convention), in userinfo and the ID token."""
    return {
        "citizen_id": citizen.id_number,
        "citizen_id_verified": citizen_id_verified(citizen),
        "citizen_id_registry_checked": citizen.registry_checked_at is not None,
    }


def claims_for(citizen: CitizenRecord, scopes: frozenset[str] | set[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims.update(
            name=citizen.full_name, birthdate=citizen.birth_date, gender=citizen.sex, updated_at=citizen.updated_at
        )
    if "email" in scopes and citizen.email:
        claims.update(email=citizen.email, email_verified=citizen.email_verified)
    if "phone" in scopes:
        claims.update(phone_number=citizen.phone, phone_number_verified=citizen.phone_verified)
    if "citizen_id" in scopes:
        claims.update(citizen_id_claims(citizen))
    if "national_profile" in scopes:
        year, month, day = citizen.birth_date.split("-")
        claims.update(
            HoVaTen=citizen.full_name,
            NgayThangNamSinh=f"{day}/{month}/{year}",
            GioiTinh="Nam" if citizen.sex == "male" else "Nữ",
            SoDienThoai="0" + citizen.phone[3:],
            LoaiTaiKhoan="1",  # 1: citizen (công dân)
            loAs=up_to(citizen.level),
        )
        if citizen.email:
            claims["ThuDienTu"] = citizen.email
        # The ID number only ever travels with its own scope, and under the national field name only
        # once verified: portals written against the national SSO take `SoDinhDanh` as verified.
        if "citizen_id" in scopes and citizen_id_verified(citizen):
            claims["SoDinhDanh"] = citizen.id_number
    return claims


def all_claims() -> list[str]:
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash"]
    for claims in CLAIMS_BY_SCOPE.values():
        names.extend(claims)
    return names
