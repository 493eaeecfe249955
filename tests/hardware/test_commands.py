"""The default command runner: real processes, no shell, bounded by a timeout."""

from __future__ import annotations

import time

from hardware.commands import CommandResult, run_command_blocking


def test_runner_captures_status_and_both_streams() -> None:
    result = run_command_blocking(["sh", "-c", "echo out; echo err >&2; exit 3"], 10)
    assert result == CommandResult(3, "out\n", "err\n")
    assert not result.ok


def test_runner_kills_a_program_that_outlives_its_timeout() -> None:
    started = time.monotonic()
    result = run_command_blocking(["sleep", "30"], 0.3)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.returncode is None and not result.ok


def test_runner_reports_a_missing_program_instead_of_raising() -> None:
    result = run_command_blocking(["/nonexistent/vcgencmd", "get_throttled"], 5)
    assert result.returncode is None and not result.timed_out
    assert result.stderr.startswith("/nonexistent/vcgencmd: ")
