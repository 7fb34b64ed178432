"""Units of work run on an event loop (`Database.run_unit`: userinfo, the token endpoint): on SQLite
one connection is kept for them and handed from unit to unit. What one unit leaves must never
reach the next, and two loops must never share a transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from idp.errors import InvalidGrant
from tests.store.test_store import _seed_code

CODE = "c" * 64


def _on_a_loop(provider, fn: Callable[[], Any], read_only: bool = False) -> Any:
    return asyncio.run(provider.store.db.run_unit(fn, read_only=read_only))


def _revoked(provider) -> bool:
    return _on_a_loop(provider, lambda: provider.store.grants.get("g1").revoked_at is not None, read_only=True)


@pytest.mark.parametrize(
    ("raised", "writes_kept"),
    [(RuntimeError("the signer broke"), False), (InvalidGrant("the code has expired"), True)],
    ids=["a failure leaves nothing", "a refusal keeps its writes"],
)
def test_what_a_unit_that_raises_after_a_write_leaves_to_the_next(provider, raised, writes_kept):
    portal = _seed_code(provider)
    now = provider.clock.now()

    def revoke_then_raise() -> None:
        provider.store.grants.revoke("g1", now)
        raise raised

    with pytest.raises(type(raised)):
        _on_a_loop(provider, revoke_then_raise)

    assert _revoked(provider) is writes_kept
    # Nothing is left open either: the code is spent at once, on the loop and by a worker thread.
    assert _on_a_loop(provider, lambda: provider.store.grants.consume_code(CODE, portal.client_id, now)) is not None
    assert provider.store.grants.consume_code(CODE, portal.client_id, now) is None


def test_a_unit_on_another_loop_never_sees_a_write_not_yet_committed(provider):
    """A loop in another thread runs a unit while this loop's unit holds an uncommitted write: it
    must read through a connection of its own (the same connection would show it the write)."""
    _seed_code(provider)
    now = provider.clock.now()
    seen: list[bool] = []
    assert not _revoked(provider)  # a unit before: on SQLite its connection is now the kept one

    def other_loop() -> None:
        seen.append(_revoked(provider))

    def revoke_and_ask_the_other_loop() -> None:
        provider.store.grants.revoke("g1", now)
        thread = threading.Thread(target=other_loop)
        thread.start()
        thread.join(10)

    _on_a_loop(provider, revoke_and_ask_the_other_loop)

    assert seen == [False]
    assert _revoked(provider)


def test_a_closed_store_keeps_no_connection_out_of_its_pool(provider):
    _seed_code(provider)
    for _ in range(3):
        _revoked(provider)

    provider.store.db.close()

    assert provider.store.engine.pool.checkedout() == 0
