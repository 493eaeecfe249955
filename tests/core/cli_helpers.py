"""Helpers for tests that run `hearth` as a real process."""

from __future__ import annotations

import re
import subprocess
import time


def wait_for_port(process: subprocess.Popen[str], timeout: float = 20.0) -> int:
    """Read the server's log until it says which port it serves on."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"server exited early with {process.wait()}")
        match = re.search(r"serving on port (\d+)", line)
        if match:
            return int(match[1])
    raise AssertionError("server did not start in time")
