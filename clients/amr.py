"""Authentication methods (`amr`, RFC 8176): how the citizen proved who they are, as opposed to
the level (`acr`) the provider vouches for.

A level cannot say "a passkey": LoA2 is reached with a password and an authenticator-app code too,
and those can be typed into a look-alike site, while a passkey is bound to the provider's origin. A
portal that must resist phishing therefore asks for the method: `requires_amr(any_of=PASSKEY_METHODS)`
in Starlette, or `claims.amr_includes(any_of=PASSKEY_METHODS)` on a validated ID token.

The requirement is checked against the `amr` of the login that made the session; PostID reports
`hwk` (device-bound passkey) or `swk` (synced passkey) with `user` and `mfa`, `pwd` for a password,
`otp` for an authenticator app or recovery code, `sms` for a code by SMS, `mfa` whenever two factors
were used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .errors import ConfigurationError

__all__ = ["AMR_VALUES", "PASSKEY_METHODS", "AmrRequirement", "amr_satisfies"]

PASSKEY_METHODS: Final = frozenset({"hwk", "swk"})
"""A passkey login, device-bound (`hwk`) or synced between the citizen's devices (`swk`): the
phishing-resistant methods PostID reports."""

AMR_VALUES: Final = frozenset(
    {
        "face",
        "fpt",
        "geo",
        "hwk",
        "iris",
        "kba",
        "mca",
        "mfa",
        "otp",
        "pin",
        "pop",
        "pwd",
        "rba",
        "retina",
        "sc",
        "sms",
        "swk",
        "tel",
        "user",
        "vbm",
        "wia",
    }
)
"""The IANA registry of RFC 8176 values: a requirement naming anything else is a typo that would
otherwise lock every citizen out of the page."""


def _methods(name: str, values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):  # "hwk" would iterate as "h", "w", "k"
        raise ConfigurationError(f"{name} takes a collection of methods, e.g. {name}={{{values!r}}}")
    methods = frozenset(values)
    if unknown := sorted(methods - AMR_VALUES):
        raise ConfigurationError(f"{name}: {unknown[0]!r} is not an RFC 8176 method ({', '.join(sorted(AMR_VALUES))})")
    return methods


@dataclass(frozen=True, init=False)
class AmrRequirement:
    """Every method of `all_of`, and at least one of `any_of` when it is given.

    `AmrRequirement(any_of=PASSKEY_METHODS)`: a passkey of either kind; `AmrRequirement(all_of={"mfa"})`:
    any two-factor login; both together: a passkey and two factors.
    """

    any_of: frozenset[str]
    all_of: frozenset[str]

    def __init__(self, *, any_of: Iterable[str] = (), all_of: Iterable[str] = ()) -> None:
        object.__setattr__(self, "any_of", _methods("any_of", any_of))
        object.__setattr__(self, "all_of", _methods("all_of", all_of))
        if not self.any_of and not self.all_of:
            raise ConfigurationError("an amr requirement needs any_of or all_of: an empty one admits every login")

    def met_by(self, amr: Iterable[str]) -> bool:
        used = frozenset(amr)
        return self.all_of <= used and (not self.any_of or bool(self.any_of & used))

    def describe(self) -> str:
        """For people and logs: `hwk or swk`, `mfa`, `mfa and (hwk or swk)`."""
        parts = [" and ".join(sorted(self.all_of))] if self.all_of else []
        if self.any_of:
            either = " or ".join(sorted(self.any_of))
            parts.append(f"({either})" if self.all_of and len(self.any_of) > 1 else either)
        return " and ".join(parts)


def amr_satisfies(amr: Iterable[str], *, any_of: Iterable[str] = (), all_of: Iterable[str] = ()) -> bool:
    """True when the methods used (`amr`) include every one of `all_of` and one of `any_of`."""
    return AmrRequirement(any_of=any_of, all_of=all_of).met_by(amr)
