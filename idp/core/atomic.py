"""All or nothing: several store calls that must land together or not at all.

The store's unit of work keeps what was written before a protocol refusal (a spent code must stay
spent). A counter step is the other kind: an account, its desk record and its SMS, or an approval and
what it applies, are one act; a refusal half-way (a phone taken meanwhile, a second open check) must
leave none of it behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from idp.core.provider import Provider
from idp.errors import IdpError


class _Undone(Exception):
    """Not an `IdpError`, so the unit of work rolls back; carries the refusal out."""

    def __init__(self, cause: IdpError) -> None:
        super().__init__(cause)
        self.cause = cause


@contextmanager
def all_or_nothing(provider: Provider) -> Iterator[None]:
    """One transaction for the block; an `IdpError` inside it rolls everything back, then goes on."""
    try:
        with provider.store.unit_of_work():
            try:
                yield
            except IdpError as exc:
                raise _Undone(exc) from exc
    except _Undone as undone:
        raise undone.cause from None
