"""Process tuning a served provider applies once, before its worker threads exist.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and memory freed
in one arena is not reused by another: with 40 database threads and two argon2 threads each
allocating 19 MiB, a provider grew to ~190 MB after a login burst. MALLOC_ARENA_MAX=2 in the
environment at start (the Dockerfile and scripts/start set it) kept it at ~130 MB in the same
benchmark with no loss of speed. `idp serve` also asks glibc at run time, which helps less
(~160 MB: some arenas exist by then), and passes the variable to the workers it spawns.

What was left was argon2's own buffer (`memory_cost`, 19 MiB at the owasp profile). glibc maps a
block that large with mmap and unmaps it on free, but the first such free raises its mmap threshold
past the block's size, so every later buffer comes from an arena and stays resident after the
hash: two password slots kept 40-70 MB. A fixed threshold (1 MiB) turns that rise off, so every
buffer is unmapped again when its hash ends. Mapping fresh memory for each hash costs page faults
(~4,900 of 4 KiB for 19 MiB, +50% CPU a check); `glibc.malloc.hugetlb=1` in GLIBC_TUNABLES
(the Dockerfile and scripts/start set it, and `idp serve` passes it to spawned workers) has glibc
ask for transparent huge pages on those mappings, which brings a check back to within ~10% of a
retained buffer. glibc reads GLIBC_TUNABLES only when a process starts.

Memory freed in the middle of a heap stays resident too (glibc returns only a heap's top on free):
after the benchmark's token and login scenarios a process held 8-9 MB more than once it was handed
back (127 -> 119 MB on SQLite, 143 -> 134 MB on PostgreSQL). A served process gives it back every
second (`give_back_free_memory`, malloc_trim: ~0.2 ms on a fragmented 100 MB heap).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from functools import cache

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 1024 * 1024
TUNABLES = "glibc.malloc.hugetlb=1"


TRIM_INTERVAL = 1.0  # seconds between `give_back_free_memory` calls of a served process


@cache  # find_library runs ldconfig in a subprocess
def _libc_function(name: str) -> Callable[..., int] | None:
    library = ctypes.util.find_library("c")
    if not library:
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):  # musl and macOS have neither mallopt nor malloc_trim
        return None
    return function


def give_back_free_memory() -> bool:
    """Return to the system the free pages inside glibc's heaps, in every arena; False where there
    is no glibc."""
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """True when glibc took the limit; False elsewhere (musl, macOS) or when the operator already
    chose one with MALLOC_ARENA_MAX."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    mallopt = _libc_function("mallopt")
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, arenas))


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """True when glibc took the fixed threshold; False elsewhere (musl, macOS) or when the operator
    already chose one (MALLOC_MMAP_THRESHOLD_, or glibc.malloc.mmap_threshold in GLIBC_TUNABLES)."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    mallopt = _libc_function("mallopt")
    return mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, threshold))


def tune_malloc() -> None:
    """This process takes the limits now; workers `idp serve` spawns read them from the environment
    when they start (an operator's own values win)."""
    limit_malloc_arenas()
    fix_mmap_threshold()
    os.environ.setdefault("MALLOC_ARENA_MAX", str(ARENAS))
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    os.environ.setdefault("GLIBC_TUNABLES", TUNABLES)
