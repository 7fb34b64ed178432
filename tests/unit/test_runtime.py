"""The served process tunes glibc's malloc: few arenas, and argon2's buffers returned after each hash
(resident memory after a login burst)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from idp.runtime import fix_mmap_threshold, limit_malloc_arenas

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc tuning")

# Twelve owasp-profile checks (19 MiB each) in two threads, then the growth of resident memory in MiB.
LOGIN_BURST = """
import sys, threading
from idp.crypto.passwords import ARGON2_OWASP, PasswordHasher
from idp.runtime import fix_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
hasher = PasswordHasher(ARGON2_OWASP, workers=2)
stored = hasher.hash("correct horse")
before = resident()
def logins():
    for _ in range(6):
        hasher.verify(stored, "wrong horse")
threads = [threading.Thread(target=logins) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(resident() - before)
"""


def _growth_after_logins(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["MALLOC_ARENA_MAX"] = "2"
    done = subprocess.run(
        [sys.executable, "-c", LOGIN_BURST, mode], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@glibc_only
def test_glibc_accepts_the_arena_limit(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    assert limit_malloc_arenas() is True


def test_an_operators_own_malloc_arena_max_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")

    assert limit_malloc_arenas() is False


def test_an_operators_own_mmap_threshold_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4194304")

    assert fix_mmap_threshold() is False


@glibc_only
def test_argon2_buffers_are_given_back_after_a_login_burst_with_the_fixed_threshold():
    retained = _growth_after_logins("dynamic")

    fixed = _growth_after_logins("fixed")

    assert retained > 19  # glibc's own rise keeps at least one 19 MiB buffer resident
    assert fixed < 8


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
