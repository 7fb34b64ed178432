"""The served process tunes glibc's malloc: one arena, and argon2's buffers kept while a login burst
lasts and handed back when it ends (page faults during the burst, resident memory after it)."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys

import anyio
import pytest

from idp.runtime import YOUNG_THRESHOLD, fix_thresholds, limit_malloc_arenas

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc tuning")

# Twenty owasp-profile checks (19 MiB each) in two threads, as a login burst runs them: under the
# served process's malloc tuning ("tuned"), or with a buffer mapped afresh for each check and
# unmapped after it ("mapped": a fixed 1 MiB mmap threshold). Prints the minor page faults a check
# during the burst, and the growth of resident memory in MiB once it ended.
LOGIN_BURST = """
import resource, sys, threading
from idp.crypto.passwords import ARGON2_OWASP, PasswordHasher
from idp.runtime import fix_thresholds, give_back_free_memory
tuned = sys.argv[1] == "tuned"
assert fix_thresholds() if tuned else fix_thresholds(mmap_threshold=1024 * 1024, trim_threshold=128 * 1024)
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
hasher = PasswordHasher(ARGON2_OWASP, workers=2, when_idle=give_back_free_memory if tuned else None)
stored = hasher.hash("correct horse")
before = resident()
start = threading.Barrier(2)
def logins():
    start.wait()
    for _ in range(10):
        hasher.verify(stored, "wrong horse")
threads = [threading.Thread(target=logins) for _ in range(2)]
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(faults / 20, resident() - before)
"""


def _login_burst(mode: str) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["MALLOC_ARENA_MAX"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", LOGIN_BURST, mode], env=env, capture_output=True, text=True, check=True
    )
    faults, growth = map(float, done.stdout.split())
    return faults, growth


@glibc_only
def test_argon2_buffers_are_reused_while_a_login_burst_lasts():
    mapped, _ = _login_burst("mapped")

    tuned, _ = _login_burst("tuned")

    assert mapped > 4000  # 19 MiB of 4 KiB pages faulted in for every check
    assert tuned < mapped / 3  # the two slots' buffers faulted in once (or again after an idle moment)


@glibc_only
def test_argon2_buffers_are_given_back_once_a_login_burst_ends():
    _, growth = _login_burst("tuned")

    assert growth < 8  # one buffer kept would be 19 MiB


@glibc_only
def test_glibc_accepts_the_arena_limit(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    assert limit_malloc_arenas() is True


def test_an_operators_own_malloc_arena_max_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")

    assert limit_malloc_arenas() is False


@pytest.mark.parametrize("variable", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"])
def test_an_operators_own_threshold_is_left_alone(monkeypatch, variable):
    monkeypatch.setenv(variable, "4194304")

    assert fix_thresholds() is False


# 2,000 blocks of 48 KB, every other one freed: free memory in the middle of the heap, which free()
# never returns; then the resident growth in MiB before and after the served process's chore.
FRAGMENTED = """
import sys
from idp.runtime import give_back_free_memory
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = resident()
blocks = [bytearray(48 * 1024) for _ in range(2000)]
keep = blocks[1::2]
del blocks
held = resident() - before
assert give_back_free_memory()
print(held, resident() - before)
"""


@glibc_only
def test_the_chore_gives_back_memory_freed_inside_the_heap():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["MALLOC_ARENA_MAX"] = "2"
    done = subprocess.run([sys.executable, "-c", FRAGMENTED], env=env, capture_output=True, text=True, check=True)
    held, after = map(float, done.stdout.split())

    assert held > 80  # 2,000 blocks of 48 KB (94 MB): half of them freed, none returned by free()
    assert after < held - 30  # the freed half (47 MB) given back


async def _collector_while_served(provider) -> tuple[int, bool, tuple[int, int, int]]:
    from idp.app import create_app

    app = create_app(provider)
    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()
        # An object made at start-up is out of the full collection's reach while the app serves.
        in_oldest = any(obj is app.router for obj in gc.get_objects(generation=2))
        threshold = gc.get_threshold()
    return frozen, in_oldest, threshold


def test_a_served_app_keeps_its_start_up_objects_out_of_full_collections_until_it_stops(provider):
    """A full collection walked every object of a started process (~100 k, 65-75 ms a time, the
    PostgreSQL userinfo load's 99th percentile): the lifespan freezes them and collects the young
    generation less often, and gives both back at its end so a process that starts and stops apps
    does not keep its objects for good."""
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    frozen, in_oldest, threshold = anyio.run(_collector_while_served, provider)
    assert frozen > 10_000
    assert not in_oldest
    assert threshold[0] == max(YOUNG_THRESHOLD, before[0])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


async def _two_apps_stopping_out_of_order(provider) -> tuple[int, int, tuple[int, int, int]]:
    from idp.app import create_app

    first, second = create_app(provider), create_app(provider)
    first_life, second_life = first.router.lifespan_context(first), second.router.lifespan_context(second)
    await first_life.__aenter__()
    await second_life.__aenter__()
    await first_life.__aexit__(None, None, None)
    threshold_while_second_serves = gc.get_threshold()[0]
    frozen_while_second_serves = gc.get_freeze_count()
    await second_life.__aexit__(None, None, None)
    return threshold_while_second_serves, frozen_while_second_serves, gc.get_threshold()


def test_the_collector_stays_tuned_until_the_last_of_two_apps_stops(provider):
    before = gc.get_threshold()
    threshold, frozen, after = anyio.run(_two_apps_stopping_out_of_order, provider)
    assert threshold == max(YOUNG_THRESHOLD, before[0]) and frozen > 10_000
    assert after == before and gc.get_freeze_count() == 0


def test_serving_never_makes_the_collector_run_more_often(provider):
    """A process that already collects less often than `YOUNG_THRESHOLD` (mypy run in-process sets
    200,000) keeps its own threshold while the app serves, and gets it back after."""
    before = gc.get_threshold()
    gc.set_threshold(200_000, *before[1:])
    try:
        _, _, threshold = anyio.run(_collector_while_served, provider)
        assert threshold[0] == 200_000
        assert gc.get_threshold()[0] == 200_000
    finally:
        gc.set_threshold(*before)
