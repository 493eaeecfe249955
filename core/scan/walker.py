"""The walk child: walks a folder-tree library and compares it with the catalog, so that the
server never holds a library's worth of catalog rows or walk records.

A no-change rescan of 100k files used to load 100k rows and build 100k records in the server
(~40 MB at the peak), and the freed memory stayed with it for good (fragmented heap). Here that
peak belongs to a process that exits when it has answered; the server receives only the
difference (usually nothing). Started by core.scan.walking as `python -m core.scan.walker`,
one per scan; it imports only what walking needs.

It reads one `WalkRequest` frame on stdin (frames: core.scan.frames), reads the library's file
rows through its own read-only SQLite connection (WAL lets it read beside the server's writer),
walks and compares (core.scan.comparison), and writes frames to stdout: `("progress", seen,
unchanged, errors, problems, logs)` now and then and once at the end, then `("result",
comparison, counts)`; or `("failed", traceback)`. The comparison's new files (all of a first
scan) are not in it: they are written to the temporary file the server passed as `spill` (its
descriptor), which the server reads a part at a time; `counts` says how many of each role. Log
records (a link not followed) travel in the progress frames and the server logs them. It never
writes to the catalog or inside a library folder.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from core.catalog.database import Database
from core.kinds import FileRecord, WalkProblem
from core.library.roots import LibraryRoots
from core.scan.comparison import (
    Key,
    compare_blocking,
    load_files_blocking,
    walk_folders_blocking,
    walk_scope_blocking,
)
from core.scan.frames import frame, read_frame_blocking
from core.scan.progress import ScanProgress
from core.scan.records import PackedRecords, spill_blocking

PROGRESS_EVERY = 0.5  # seconds between progress frames while walking
# (logger, level, message) or, for a record said once per path, also (what, path) and its args
LogLine = tuple[str, int, str, tuple[str, str] | None, tuple[str, ...]]


@dataclass(frozen=True)
class WalkRequest:
    """One library's walk: its folders (a full walk) or `scope` (only those parts)."""

    catalog: str
    library_id: int
    kind: str
    folders: tuple[str, ...]
    roots: LibraryRoots
    scope: list[Key] | None = None
    spill: int = -1  # the descriptor of the server's temporary file for the new files


class _Collected(logging.Handler):
    """Keeps the child's log records to send them to the server."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        once = getattr(record, "once", None)
        if once is not None and isinstance(record.args, tuple):
            args = tuple(str(arg) for arg in record.args)
            self.lines.append((record.name, record.levelno, str(record.msg), once, args))
        else:
            self.lines.append((record.name, record.levelno, record.getMessage(), None, ()))


class _Reporter:
    """Sends the counters, the new problems and the log lines since the last frame."""

    def __init__(self, send: Callable[[Any], None], progress: ScanProgress) -> None:
        self._send = send
        self._progress = progress
        self._problems_sent = 0
        self._last = time.monotonic()
        self.logs = _Collected()

    def walk(
        self, entries: Iterator[FileRecord | WalkProblem]
    ) -> Iterator[FileRecord | WalkProblem]:
        for entry in entries:
            yield entry
            if time.monotonic() - self._last >= PROGRESS_EVERY:
                self.report()

    def report(self) -> None:
        progress = self._progress
        problems = progress.problems[self._problems_sent :]
        self._problems_sent = len(progress.problems)
        logs, self.logs.lines = self.logs.lines, []
        self._send(("progress", progress.seen, progress.unchanged, progress.errors, problems, logs))
        self._last = time.monotonic()


def compare_request_blocking(request: WalkRequest, send: Callable[[Any], None]) -> None:
    """Read, walk, compare, and send the difference."""
    progress = ScanProgress(request.library_id, "")
    reporter = _Reporter(send, progress)
    logging.getLogger().addHandler(reporter.logs)
    logging.getLogger().setLevel(logging.INFO)
    known = _known_blocking(request)
    if request.scope is None:
        walk = walk_folders_blocking(list(request.folders), request.roots)
    else:
        walk = walk_scope_blocking(request.scope, request.roots)
    comparison = compare_blocking(reporter.walk(walk), known, request.kind, progress, request.scope)
    del known
    reporter.report()
    new, comparison.new = comparison.new, PackedRecords()
    assert isinstance(new, PackedRecords)
    with os.fdopen(request.spill, "wb", closefd=False) as spill:
        counts = spill_blocking(new, spill)
    send(("result", comparison, counts))


def _known_blocking(request: WalkRequest) -> dict[Key, Any]:
    """The catalog's rows for this walk, read through a connection of our own."""
    uri = f"file:{quote(request.catalog)}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        conn.execute("PRAGMA query_only=ON")
        return load_files_blocking(Database(conn), request.library_id, request.scope)
    finally:
        conn.close()


def main() -> int:
    # Ctrl-C reaches the whole process group; the server decides when its children stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt replies

    def send(value: Any) -> None:
        replies.write(frame(value))
        replies.flush()

    try:
        request = read_frame_blocking(sys.stdin.buffer)
        try:
            compare_request_blocking(request, send)
        except Exception:
            send(("failed", traceback.format_exc()))
    except (BrokenPipeError, EOFError):  # the server is gone, or asked for nothing
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
