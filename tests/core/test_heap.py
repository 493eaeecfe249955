"""glibc's malloc arenas, capped for the server: threads that allocate share two heaps instead
of one each (each keeps its own freed pages). Counted with malloc_stats in a child process."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import ctypes, sys, threading
from core.heap import limit_arenas
if sys.argv[1] == "capped":
    assert limit_arenas()
gate = threading.Barrier(6)
def work():
    gate.wait()  # all at once: each thread finds the others' arenas busy
    kept = [bytearray(4096) for _ in range(2000)]
    gate.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


def arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_the_server_keeps_two_malloc_arenas_however_many_threads_allocate() -> None:
    assert arenas("free") > 2  # glibc's default: an arena for each busy thread
    assert arenas("capped") == 2
