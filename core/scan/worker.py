"""A probe worker process: reads chunks of files on stdin, writes their analyses to stdout.

Started by `core.scan.pool` as `python -m core.scan.worker`, not through multiprocessing: a
spawned multiprocessing worker re-imports the parent's main module (for `hearth`, the whole
command line, ~9 MB) and needs a resource-tracker process beside it (~13 MB). This one imports
only what probing needs (check with `python -X importtime -m core.scan.worker </dev/null`).

Frames are core.scan.frames' length-prefixed pickles. The first frame out says the worker is
ready (a worker that dies before it could not start at all); then one reply per request, in
order: `(True, analyses)`, or `(False, traceback)` when the analysis code itself failed (a bug,
not a bad file). End of input means stop.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from core.library.roots import LibraryRoots
from core.media.naming import LibraryKind
from core.scan.analysis import Analysis, analyze_many_blocking
from core.scan.frames import frame, read_frame_blocking

READY = "ready"
Job = tuple[str, str, LibraryKind]


def serve(analyse: Callable[[list[Job], LibraryRoots | None], list[Analysis]]) -> int:
    """Answer requests (a chunk of jobs, and the library roots their files must be in) until
    the parent closes our stdin (or goes away)."""
    # Ctrl-C reaches the whole process group; the parent decides when the workers stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Anything else that writes to stdout (FFmpeg's C code, a stray print) goes to stderr and
    # cannot corrupt the replies
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    try:
        replies.write(frame(READY))
        replies.flush()
        while True:
            try:
                jobs, roots = read_frame_blocking(requests)
            except EOFError:
                return 0
            try:
                reply: tuple[bool, Any] = (True, analyse(jobs, roots))
            except Exception:
                reply = (False, traceback.format_exc())
            replies.write(frame(reply))
            replies.flush()
    except BrokenPipeError:  # the parent is gone: nobody wants the answer
        return 0


if __name__ == "__main__":
    sys.exit(serve(analyze_many_blocking))
