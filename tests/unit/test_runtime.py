"""The served process limits glibc's malloc arenas (resident memory after a login burst)."""

from __future__ import annotations

import platform

import pytest

from idp.runtime import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc tuning; other C libraries have no arenas")
def test_glibc_accepts_the_arena_limit(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    assert limit_malloc_arenas() is True


def test_an_operators_own_malloc_arena_max_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")

    assert limit_malloc_arenas() is False
