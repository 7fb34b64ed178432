"""The fault suite borrows the operations tests' served processes (`cluster`: two `idp serve` on one
database and keys folder)."""

from __future__ import annotations

from tests.ops.conftest import cluster

__all__ = ["cluster"]
