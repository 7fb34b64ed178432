"""Process tuning a served provider applies once, before its worker threads exist.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and memory freed
in one arena is not reused by another: with 40 database threads and two argon2 threads each
allocating 19 MiB, a provider grew to ~190 MB after a login burst. MALLOC_ARENA_MAX=2 in the
environment at start (the Dockerfile and scripts/start set it) kept it at ~130 MB in the same
benchmark with no loss of speed. `idp serve` also asks glibc at run time, which helps less
(~160 MB: some arenas exist by then), and passes the variable to the workers it spawns.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """True when glibc took the limit; False elsewhere (musl, macOS) or when the operator already
    chose one with MALLOC_ARENA_MAX."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
