"""Giving back to the system the memory a finished job freed.

glibc keeps freed heap pages for reuse, so after a scan has compared 100k files an idle server
would go on holding them for hours. `trim_blocking` collects Python's unreachable cycles and asks
glibc to return free pages (malloc_trim). It never frees anything still in use, and where the C
library has no malloc_trim (musl, macOS) it only collects. `use_system_allocator` has the server
allocate Python's small objects with glibc too, so that trimming reaches them.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import sys
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


_CHOSEN_BY_HEARTH = "HEARTH_SYSTEM_MALLOC"  # marks the environment this module made


def use_system_allocator() -> None:
    """Start this process again (same pid, same arguments) with PYTHONMALLOC=malloc, once.

    Why: Python's own small-object allocator (pymalloc) keeps 1 MiB arenas and gives one back
    only when every object in it is gone. A scan, the TVs' prepared pages or a restart's rescan
    go through 100k items in the server, and the few objects that outlive them are scattered
    over most arenas: a settled server at 100k items held 53 arenas (56 MB) for 23 MB of live
    objects, and no trim can reach the empty pools between them. With glibc's malloc those
    pages are free heap pages that `trim_blocking` returns: ~23 MB less resident after a
    restart, for ~10-20% more CPU in allocation-heavy Python (the scan workers and the rest of
    the server's children keep pymalloc: the variable is dropped again once it took effect).

    Returns without starting again when it already did, when the environment names an
    allocator itself (PYTHONMALLOC=debug to find a bug), when the interpreter ignores the
    environment (-E, -I: it would not take effect), without glibc's malloc_trim, or when the
    interpreter cannot be started again by its path (a user dropped to with setpriv whose
    interpreter lies under /root)."""
    if os.environ.pop(_CHOSEN_BY_HEARTH, None) == "1":
        os.environ.pop("PYTHONMALLOC", None)  # for the children: read once, at start-up
        return
    if "PYTHONMALLOC" in os.environ or sys.flags.ignore_environment:
        return
    if _glibc("malloc_trim") is None:
        return
    environment = {**os.environ, "PYTHONMALLOC": "malloc", _CHOSEN_BY_HEARTH: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], environment)
    except OSError:  # this user may not run the interpreter by its path: serve as it is
        return
