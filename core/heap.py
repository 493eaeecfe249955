"""Giving back to the system the memory a finished job freed.

glibc keeps freed heap pages for reuse, so after a scan has compared 100k files an idle server
would go on holding them for hours. `trim_blocking` collects Python's unreachable cycles and asks
glibc to return free pages (malloc_trim). It never frees anything still in use, and where the C
library has no malloc_trim (musl, macOS) it only collects.
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable


@functools.cache
def _glibc(name: str) -> Callable[..., int] | None:
    """A function of the process's own C library, or None where it has none (musl, macOS)."""
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    return function


_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
SERVER_ARENAS = 2


def limit_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Cap glibc's malloc arenas before the server starts threads. By default glibc gives
    each thread that allocates (the catalog's readers, the executor) an arena of its own, up
    to 8 per core, and each keeps its freed pages; the server's threads mostly wait on SQLite
    and the disk, so two arenas cost nothing in speed and keep a few MB less resident.
    False where the C library has no mallopt (musl, macOS)."""
    mallopt = _glibc("mallopt")
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, arenas))


def malloc_trim() -> None:
    """Return glibc's free heap pages to the system (a no-op without glibc)."""
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


def trim_blocking() -> None:
    """Collect cycles, then return free heap pages to the system (a few ms; call in a thread)."""
    gc.collect()
    malloc_trim()
