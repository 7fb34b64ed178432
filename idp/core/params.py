"""Request parameters as every surface reads them: a name may carry several values, and a reader
that wants one value gets it only when exactly one came.

A repeated parameter is refused rather than resolved by taking the first or the last: two layers
that disagree on which one wins (a proxy, a WAF, the client library) are how parameter pollution
smuggles a value past a check (RFC 6749 §3.1: "Request and response parameters MUST NOT be
included more than once"). HTTP parses into this type, the core reads it, and no module keeps its
own copy of the rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from idp.core.policy import LARGEST_NUMBER
from idp.errors import InvalidRequest

__all__ = ["Params", "RawParams", "whole_number"]


def whole_number(raw: str, name: str, maximum: int = LARGEST_NUMBER) -> int:
    """A non-negative integer in ASCII digits, at most `maximum`. `str.isdigit` alone lets "²"
    and other Unicode digits through to an `int()` that fails (a 500), and an unbounded one lets
    a 5,000-digit number reach an `int()` that refuses it or a database column that overflows."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(maximum)) or int(raw) > maximum:
        raise InvalidRequest(f"{name} must be a whole number from 0 to {maximum}")
    return int(raw)


# What a caller may hand the core: `Params`, or a plain mapping (tests, PAR's stored request).
RawParams = Mapping[str, Sequence[str]]


class Params(Mapping[str, list[str]]):
    """Parameter name → the values sent for it, in order; a name sent without a value is absent."""

    __slots__ = ("_values",)

    def __init__(self, values: RawParams | None = None) -> None:
        self._values: dict[str, list[str]] = {k: list(v) for k, v in (values or {}).items() if v}

    @classmethod
    def of(cls, values: RawParams) -> Params:
        """The same parameters as this type, without copying when they already are."""
        return values if isinstance(values, Params) else cls(values)

    def one(self, name: str, required: bool = False) -> str | None:
        """The single value of `name`; None when absent (or InvalidRequest when `required`)."""
        values = self._values.get(name)
        if not values:
            if required:
                raise InvalidRequest(f"{name} is required")
            return None
        if len(values) > 1:
            raise InvalidRequest(f"{name} must not be repeated")
        return values[0]

    def number(self, name: str, default: int | None = None, maximum: int = LARGEST_NUMBER) -> int | None:
        """The single value of `name` as a `whole_number`; `default` when absent or empty."""
        value = self.one(name)
        return default if not value else whole_number(value, name, maximum)

    def all(self, name: str) -> list[str]:
        """Every value of a parameter that may legitimately repeat (DPoP proofs, multi-line fields)."""
        return list(self._values.get(name, ()))

    def add(self, name: str, value: str) -> None:
        """Used while parsing only: parameters are appended in the order they came."""
        self._values.setdefault(name, []).append(value)

    def __getitem__(self, name: str) -> list[str]:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"
