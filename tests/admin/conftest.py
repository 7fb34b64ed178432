"""Staff fixtures: staff members of each role, logged in through the real login (password + TOTP)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from idp.core import staff
from idp.crypto.totp import totp_code
from idp.http import csrf
from tests.e2e.conftest import running_provider  # noqa: F401  (the served-provider fixture, shared with e2e)

PASSWORD = "staff password long enough"


@dataclass
class StaffMember:
    username: str
    secret: str
    cookie: str
    csrf: str


def cookie_name() -> str:
    return "__Host-idp_staff"  # the test issuer is https


def add_staff(provider, username: str, *roles: str) -> staff.NewStaff:
    return staff.add_staff(provider, username=username, roles=list(roles), password=PASSWORD)


def log_in(provider, clock, username: str, secret: str) -> StaffMember:
    clock.advance(30)  # a fresh TOTP step for every login (a step is never accepted twice)
    done = staff.login(provider, username, PASSWORD, totp_code(secret, clock.now()))
    assert staff.current(provider, done.cookie_value) is not None
    return StaffMember(username, secret, done.cookie_value, csrf.token(done.cookie_value, csrf.STAFF))


def act_as(client, member: StaffMember) -> StaffMember:
    client.cookies.clear()
    client.cookies.set(cookie_name(), member.cookie)
    return member


@pytest.fixture
def staff_of(provider, clock):
    """`staff_of("clerk")` → a logged-in member holding that role (one per role and name)."""
    made: dict[str, StaffMember] = {}

    def make(*roles: str, username: str | None = None) -> StaffMember:
        name = username or "-".join(roles)
        if name not in made:
            created = add_staff(provider, name, *roles)
            made[name] = log_in(provider, clock, name, created.totp_secret)
        return made[name]

    return make


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)
