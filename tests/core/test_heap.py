"""glibc's malloc arenas, capped for the server: threads that allocate share two heaps instead
of one each (each keeps its own freed pages). Counted with malloc_stats in a child process.
And `hearth run` allocates Python's objects with glibc's malloc (so trimming reaches them),
while its children keep Python's own allocator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import core_yaml, write_config
from tests.core.cli_helpers import wait_for_port

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


# `hearth run` as a real process (-c: the script keeps its place in the command line it is
# started again with): on SIGUSR1 it prints which allocator it runs with and what its children
# would inherit. sys.getallocatedblocks() counts pymalloc's blocks: 0 when malloc serves them.
PROBE = """
import json, os, signal, sys
def report(*_):
    state = {"pymalloc_blocks": sys.getallocatedblocks(), "pid": os.getpid(),
             "PYTHONMALLOC": os.environ.get("PYTHONMALLOC")}
    print("STATE " + json.dumps(state), flush=True)
signal.signal(signal.SIGUSR1, report)
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _serving_state(tmp_path: Path, environment: dict[str, str]) -> dict[str, Any]:
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data"))
    process = subprocess.Popen(
        [sys.executable, "-c", PROBE, "run", "-c", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, "HEARTH_ALLOW_ROOT": "1"},
    )
    try:
        wait_for_port(process)
        process.send_signal(signal.SIGUSR1)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("STATE "), line
        state: dict[str, Any] = json.loads(line.removeprefix("STATE "))
        assert state["pid"] == process.pid  # started again in place: its pid is the one started
        return state
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_hearth_run_serves_with_glibcs_malloc_and_its_children_get_pythons_own(
    tmp_path: Path,
) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
    state = _serving_state(tmp_path, environment)
    assert state["pymalloc_blocks"] == 0
    assert state["PYTHONMALLOC"] is None  # a scan worker started now keeps pymalloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_hearth_run_keeps_the_allocator_the_environment_names(tmp_path: Path) -> None:
    state = _serving_state(tmp_path, {**os.environ, "PYTHONMALLOC": "pymalloc"})
    assert state["pymalloc_blocks"] > 0
    assert state["PYTHONMALLOC"] == "pymalloc"
