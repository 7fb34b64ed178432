"""Test citizens: who the mock provider logs in, at which level, with which methods."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SAMPLE_CITIZENS", "SCOPE_CLAIMS", "Citizen"]

SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "profile": ("name", "birthdate", "gender"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
}
"""Which claims each scope releases (OIDC Core §5.4), as the real provider does."""


@dataclass(frozen=True)
class Citizen:
    """A citizen the mock can log in.

    `acr` is the highest level the account reaches and `amr` the methods used to reach it. As on
    the real provider, a login that asks for less (no `acr_values`, or `LoA1`) of an LoA2 citizen
    is a password-only LoA1 login; asking for more than `acr` fails with
    `unmet_authentication_requirements`.
    """

    sub: str
    name: str
    acr: str = "LoA1"
    amr: tuple[str, ...] = ("pwd",)
    birthdate: str | None = None
    gender: str | None = None
    email: str | None = None
    email_verified: bool = False
    phone_number: str | None = None
    phone_number_verified: bool = True
    extra_claims: Mapping[str, Any] = field(default_factory=dict)

    def released_claims(self, scopes: Iterable[str]) -> dict[str, Any]:
        """The claims the granted scopes release; absent values are left out, never null."""
        granted = set(scopes)
        claims: dict[str, Any] = {}
        for scope, names in SCOPE_CLAIMS.items():
            if scope not in granted:
                continue
            for name in names:
                value = getattr(self, name)
                if name == "email_verified" and self.email is None:
                    continue
                if name == "phone_number_verified" and self.phone_number is None:
                    continue
                if value is not None:
                    claims[name] = value
        claims.update(self.extra_claims)
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
    ),
    Citizen(
        sub="citizen-minh",
        name="Trần Văn Minh",
        acr="LoA1",
        amr=("pwd",),
        birthdate="1985-11-30",
        gender="male",
        phone_number="+84987654321",
    ),
)
"""Two citizens for quick starts: Lan is verified in person (LoA2), Minh self-registered (LoA1)."""
