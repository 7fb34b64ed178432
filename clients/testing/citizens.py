"""Test citizens: who the mock provider logs in, at which level, and the claims each scope releases.

The claims follow the real provider's rules (its `idp/core/scopes.py`) value for value, so a portal
that passes against the mock reads the same names, formats and standing in production: profile,
email and phone claims at userinfo only; the citizen ID number with its standing
(`citizen_id_verified`, `citizen_id_registry_checked`) at userinfo and in the ID token; the national
SSO's field names (`HoVaTen`, `NgayThangNamSinh`, ...) with `national_profile`, and `SoDinhDanh`
only for a verified number with `citizen_id` granted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..defaults import ASSURANCE_LEVELS

__all__ = [
    "DEFAULT_CLIENT_SCOPES",
    "LOGIN_METHODS",
    "SAMPLE_CITIZENS",
    "SCOPE_CLAIMS",
    "SUPPORTED_SCOPES",
    "Citizen",
    "LoginMethod",
    "levels_up_to",
]

SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "offline_access", "citizen_id", "national_profile")
"""Every scope the real provider supports."""

DEFAULT_CLIENT_SCOPES = ("openid", "profile", "email", "phone", "offline_access")
"""What a portal may ask for unless registered with more (as `idp clients add` without `--scope`):
the citizen ID number and the national profile that can carry it are released only to portals
allowed them."""

SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "profile": ("name", "birthdate", "gender", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "citizen_id": ("citizen_id", "citizen_id_verified", "citizen_id_registry_checked"),
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
"""Which claims each scope releases (OIDC Core §5.4 and the national profile), as the real provider does."""

LoginMethod = Literal["passkey", "synced_passkey", "password_and_passkey"]
"""How a test citizen logs in, when the test says so (`login_as(sub, method=...)`)."""

LOGIN_METHODS: Mapping[str, tuple[str, ...]] = {
    "passkey": ("hwk", "user", "mfa"),
    "synced_passkey": ("swk", "user", "mfa"),
    "password_and_passkey": ("pwd", "hwk", "user", "mfa"),
}
"""The `amr` the real provider reports for each way of logging in with a passkey (its
`idp/core/passkeys.py`): `hwk` for a device-bound key, `swk` for a synced one, `user` (presence)
and `mfa` (user verification is required: the key unlocked by the device's PIN or biometric); after
a password, `pwd` first. Two factors, so the login reaches the account's level: LoA2 for a verified
citizen, whatever the portal asked for."""


def passkey_level(citizen_acr: str) -> str:
    """A passkey login is two factors: LoA2 for an account verified in person, LoA1 otherwise
    (the real provider's `achieved_level`)."""
    return citizen_acr if citizen_acr in ASSURANCE_LEVELS else ASSURANCE_LEVELS[0]


_UPDATED_AT = 1_700_000_000  # a fixed `updated_at` keeps the sample citizens' claims reproducible


def levels_up_to(level: str) -> list[str]:
    """Every level at or below `level`: the national profile's `loAs`."""
    return list(ASSURANCE_LEVELS[: ASSURANCE_LEVELS.index(level) + 1]) if level in ASSURANCE_LEVELS else []


@dataclass(frozen=True)
class Citizen:
    """A citizen the mock can log in.

    `acr` is the highest level the account reaches and `amr` the methods used to reach it. As on
    the real provider, a login that asks for less (no `acr_values`, or `LoA1`) of an LoA2 citizen
    is a password-only LoA1 login; asking for more than `acr` fails with
    `unmet_authentication_requirements`. An `LoA2` account is one verified at a counter, so its
    `citizen_id` is verified; an `LoA1` account's number is only declared (`registry_checked` says
    whether the population registry matched the declaration).
    """

    sub: str
    name: str
    acr: str = "LoA1"
    amr: tuple[str, ...] = ("pwd",)
    birthdate: str | None = None  # YYYY-MM-DD
    gender: str | None = None  # male | female
    email: str | None = None
    email_verified: bool = False
    phone_number: str | None = None  # E.164, +84...
    phone_number_verified: bool = True
    citizen_id: str | None = None  # the 12-digit citizen ID number
    registry_checked: bool = False
    updated_at: int = _UPDATED_AT
    extra_claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def citizen_id_verified(self) -> bool:
        """Verified means checked in person at the counter, which is what raises an account to LoA2."""
        return self.acr == ASSURANCE_LEVELS[-1]

    def citizen_id_claims(self) -> dict[str, Any]:
        """The number with its standing, in userinfo and (with the `citizen_id` scope) the ID token."""
        if self.citizen_id is None:
            return {}
        return {
            "citizen_id": self.citizen_id,
            "citizen_id_verified": self.citizen_id_verified,
            "citizen_id_registry_checked": self.registry_checked,
        }

    def released_claims(self, scopes: Iterable[str]) -> dict[str, Any]:
        """The userinfo claims the granted scopes release; absent values are left out, never null."""
        granted = set(scopes)
        claims: dict[str, Any] = {}
        if "profile" in granted:
            claims.update(name=self.name, birthdate=self.birthdate, gender=self.gender, updated_at=self.updated_at)
        if "email" in granted and self.email:
            claims.update(email=self.email, email_verified=self.email_verified)
        if "phone" in granted and self.phone_number:
            claims.update(phone_number=self.phone_number, phone_number_verified=self.phone_number_verified)
        if "citizen_id" in granted:
            claims.update(self.citizen_id_claims())
        if "national_profile" in granted:
            claims.update(self._national_profile(with_number="citizen_id" in granted))
        claims.update(self.extra_claims)
        return {name: value for name, value in claims.items() if value is not None}

    def _national_profile(self, *, with_number: bool) -> dict[str, Any]:
        claims: dict[str, Any] = {"HoVaTen": self.name, "LoaiTaiKhoan": "1", "loAs": levels_up_to(self.acr)}
        if self.birthdate:
            year, month, day = self.birthdate.split("-")
            claims["NgayThangNamSinh"] = f"{day}/{month}/{year}"
        if self.gender:
            claims["GioiTinh"] = "Nam" if self.gender == "male" else "Nữ"
        if self.phone_number and self.phone_number.startswith("+84"):
            claims["SoDienThoai"] = "0" + self.phone_number[3:]
        if self.email:
            claims["ThuDienTu"] = self.email
        # Portals written against the national SSO take `SoDinhDanh` as verified: only then, and only
        # with the number's own scope.
        if with_number and self.citizen_id is not None and self.citizen_id_verified:
            claims["SoDinhDanh"] = self.citizen_id
        return claims


SAMPLE_CITIZENS: tuple[Citizen, ...] = (
    Citizen(
        sub="citizen-lan",
        name="Nguyễn Thị Lan",
        acr="LoA2",
        amr=("pwd", "otp", "mfa"),
        birthdate="1990-04-12",
        gender="female",
        email="lan@example.vn",
        email_verified=True,
        phone_number="+84912345678",
        citizen_id="001190012345",
        registry_checked=True,
    ),
    Citizen(
        sub="citizen-minh",
        name="Trần Văn Minh",
        acr="LoA1",
        amr=("pwd",),
        birthdate="1985-11-30",
        gender="male",
        phone_number="+84987654321",
        citizen_id="079085001234",
    ),
)
"""Two citizens for quick starts: Lan is verified in person (LoA2, her number verified), Minh
self-registered (LoA1, his number only declared)."""
