"""Citizen accounts: creating one from declared data, after every offline check passes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from idp.core.identity import (
    ID_NUMBER_FIELD,
    check_id_number,
    check_sex,
    normalize_email,
    normalize_name,
    normalize_phone,
    parse_birth_date,
)
from idp.core.levels import LOA1
from idp.core.password_policy import check_new_password
from idp.core.provider import Provider
from idp.errors import ValidationError
from idp.store.records import CitizenRecord, Conflict


@dataclass(frozen=True)
class CitizenDeclaration:
    id_number: str
    full_name: str
    birth_date: str
    sex: str
    phone: str
    email: str | None = None


def today(provider: Provider) -> date:
    return datetime.fromtimestamp(provider.clock.now(), UTC).date()


def validate(provider: Provider, data: CitizenDeclaration) -> dict[str, object]:
    """The declaration, normalised; raises ValidationError naming the first bad field."""
    for name in ("id_number", "full_name", "birth_date", "sex", "phone"):
        if not str(getattr(data, name) or "").strip():
            raise ValidationError(ID_NUMBER_FIELD if name == "id_number" else name, "required")
    full_name = normalize_name(data.full_name)
    sex = check_sex(data.sex)
    birth = parse_birth_date(data.birth_date, today(provider))
    id_number = check_id_number(data.id_number, sex=sex, birth_date=birth)
    return {
        "id_number": id_number,
        "full_name": full_name,
        "birth_date": birth.isoformat(),
        "sex": sex,
        "phone": normalize_phone(data.phone),
        "email": normalize_email(data.email),
    }


def add_active_citizen(provider: Provider, data: CitizenDeclaration, password: str) -> CitizenRecord:
    """An operator-seeded account: active at LoA1 with a verified phone (no SMS round trip)."""
    values = validate(provider, data)
    check_new_password(
        password, id_number=str(values["id_number"]), phone=str(values["phone"]), full_name=str(values["full_name"])
    )
    password_hash = provider.passwords.hash(password)
    try:
        return provider.store.citizens.add(
            id=str(uuid.UUID(bytes=provider.rng.token_bytes(16), version=4)),
            password_hash=password_hash,
            created_at=provider.clock.now(),
            phone_verified=True,
            email_verified=False,
            status="active",
            level=LOA1,
            **values,
        )
    except Conflict as exc:
        raise ValidationError(exc.field, "taken") from None
