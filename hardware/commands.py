"""Running the external programs that hardware detection asks (ffmpeg, vcgencmd).

Detection never spawns a process directly: it goes through a `CommandRunner`, a callable that
the caller may replace, so tests feed recorded outputs instead of patching `subprocess`. This
module holds that type and the default runner. It never uses a shell, never reads stdin, and never
lets a hung child outlive its timeout.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one program run produced.

    `returncode` is None when the program could not be started or was killed on timeout, so
    "ran and failed" and "never ran" stay distinguishable.
    """

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0


CommandRunner = Callable[[Sequence[str], float], CommandResult]
"""`runner(argv, timeout_seconds) -> CommandResult`; must not raise for a failing program."""


def _as_text(output: str | bytes | None) -> str:
    # TimeoutExpired carries bytes even under text=True on some Python versions.
    if output is None:
        return ""
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output


def run_command_blocking(argv: Sequence[str], timeout: float) -> CommandResult:
    """Run `argv` without a shell, capturing text output; blocks up to `timeout` seconds.

    A missing or non-executable program becomes a result with `returncode=None` rather than an
    exception, because "this box has no vcgencmd" is an answer, not a fault.
    """
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        return CommandResult(None, _as_text(err.stdout), _as_text(err.stderr), timed_out=True)
    except OSError as err:
        return CommandResult(None, "", f"{argv[0]}: {err.strerror or err}")
    return CommandResult(done.returncode, done.stdout, done.stderr)
