"""Process tuning a served provider applies once, before its worker threads exist.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and memory freed
in one arena is not reused by another: with 40 database threads and two argon2 threads each
allocating 19 MiB, a provider grew to ~190 MB after a login burst. One arena (MALLOC_ARENA_MAX=1
in the environment at start: the Dockerfile and scripts/start set it) keeps every thread's memory
in the one heap that `give_back_free_memory` can hand back whole: malloc_trim returns the free
top of a second arena's heap only when free() itself would (the trim threshold below), so a
buffer freed there stayed resident. Threads rarely allocate at once here (they hold the GIL; the
argon2 threads allocate once a hash). `idp serve` also asks glibc at run time, which helps less
(some arenas exist by then), and passes the variable to the workers it spawns.

argon2's own buffer (`memory_cost`, 19 MiB at the owasp profile) is the largest allocation. glibc
maps a block that large with mmap and unmaps it on free, but the first such free raises its mmap
threshold past the block's size, so every later buffer comes from the heap and stays resident
after the hash: two password slots kept 40-70 MB. Mapping a fresh buffer for every hash instead
(a fixed 1 MiB threshold, until 2026-11) gave that memory back but cost ~500 page faults and
~2.5 ms of kernel time a check even on transparent huge pages (~4,900 faults and ~9.5 ms without):
a tenth of the hash. So a served process keeps freed buffers in the heap while hashes follow one
another (fixed thresholds: glibc's largest mmap threshold, 32 MiB, and a trim threshold free()
never reaches) and gives them back when the password slots fall idle (`PasswordHasher`'s
`when_idle`, which the provider sets to `give_back_free_memory`): ~40-100 faults and ~1.2 ms of
kernel time a login in a burst, and the same resident memory as before once it ends.
`glibc.malloc.hugetlb=1` in GLIBC_TUNABLES (the Dockerfile and scripts/start set it, and `idp
serve` passes it to spawned workers) has glibc ask for transparent huge pages, which keeps the
first hash after a give-back cheap. glibc reads GLIBC_TUNABLES only when a process starts.

Memory freed in the middle of a heap stays resident too (glibc returns only a heap's top on free):
after the benchmark's token and login scenarios a process held 8-9 MB more than once it was handed
back (127 -> 119 MB on SQLite, 143 -> 134 MB on PostgreSQL). A served process gives it back every
second (`give_back_free_memory`, malloc_trim: ~0.2 ms on a fragmented 100 MB heap).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 1
MMAP_THRESHOLD = 32 * 1024 * 1024  # the largest glibc takes: argon2's buffers come from the heap
TRIM_THRESHOLD = 1024 * 1024 * 1024  # free() does not trim; `give_back_free_memory` does
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


def fix_thresholds(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """True when glibc took both fixed thresholds; False elsewhere (musl, macOS) or when the
    operator already chose one (MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_, or the same in
    GLIBC_TUNABLES)."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    names = ("mmap_threshold", "trim_threshold")
    if any(os.environ.get(f"MALLOC_{name.upper()}_") or name in tunables for name in names):
        return False
    mallopt = _libc_function("mallopt")
    return (
        mallopt is not None
        and bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold))
        and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
    )


# The youngest generation's threshold while serving: Python's default (700 allocations) ran a
# collection every ~8 requests, ~85 µs each (5% of a PostgreSQL userinfo's CPU).
YOUNG_THRESHOLD = 7000


class _CollectorTuning:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.serving = 0
        self.before = gc.get_threshold()


_COLLECTOR = _CollectorTuning()


@contextmanager
def collector_tuned_for_serving() -> Iterator[None]:
    """Python's garbage collector tuned for serving while the block runs, from the first app that
    starts serving in this process until the last one stops (a test process starts many, at times
    two at once); then the frozen objects go back to the collector and its thresholds are as they
    were.

    Freeze: a started process holds ~100 k objects that live as long as it does (SQLAlchemy's and
    SQLModel's classes and metadata, the routes, the templates' environment). Python's full
    collection walked every one of them each time: 65-75 ms here, 11 times in a 5-second
    PostgreSQL userinfo load (requests in flight when a younger collection runs are promoted, and
    enough promotions start a full one), collecting nothing; that pause was the load's 99th
    percentile (~72 ms against a median of ~5). Frozen, they stay where they are and a full
    collection walks only what came later. The cost: a cycle among frozen objects that is dropped
    later (key sets replaced by a rotation) is never collected; such objects are few and replaced
    rarely. Only the young generations are collected first (a full collection at that point found
    nothing in 48.7 ms of start-up: imports run their own).

    Then the youngest generation is collected every `YOUNG_THRESHOLD` allocations instead of 700:
    a request's own objects are mostly freed by reference counting before a collection sees them,
    and the collector's time over a load fell from ~400 to ~60 ms (bench/run.py's code exchange
    and userinfo on PostgreSQL); at most that many more container objects wait to be collected."""
    with _COLLECTOR.lock:
        if _COLLECTOR.serving == 0:
            _COLLECTOR.before = gc.get_threshold()
            gc.collect(1)
            gc.freeze()
            # Never lower: a process may already collect less often (mypy, run in-process, sets 200,000).
            gc.set_threshold(max(YOUNG_THRESHOLD, _COLLECTOR.before[0]), *_COLLECTOR.before[1:])
        _COLLECTOR.serving += 1
    try:
        yield
    finally:
        with _COLLECTOR.lock:
            _COLLECTOR.serving -= 1
            if _COLLECTOR.serving == 0:
                gc.unfreeze()
                gc.set_threshold(*_COLLECTOR.before)


def tune_malloc() -> None:
    """This process takes the limits now; workers `idp serve` spawns read them from the environment
    when they start (an operator's own values win)."""
    limit_malloc_arenas()
    fix_thresholds()
    os.environ.setdefault("MALLOC_ARENA_MAX", str(ARENAS))
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(TRIM_THRESHOLD))
    os.environ.setdefault("GLIBC_TUNABLES", TUNABLES)
