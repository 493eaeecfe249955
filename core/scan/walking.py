"""Where a scan's walk and comparison run: in the walk child (core.scan.walker) for a source
whose walk is a folder tree, in an executor thread for a source that walks itself. Either way
the scan gets the same Comparison.

A source says its walk is `walk_tree_blocking` over each of its `roots()`, in order (the folder
and USB sources), with a class attribute `walks_folder_trees = True`; the child can then walk it
without the source object. The child's peak (the library's rows, the walk) is gone when it
exits; the server keeps only what it receives: the difference (a first scan's new files stay in
a temporary file, read a part at a time), the progress counters, the problems and the child's
log lines (logged here, a link's note once per path as before). It never writes to the
catalog; the scan does, with what it gets back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence

from core.catalog import Catalog
from core.kinds import LibrarySource
from core.library.roots import LibraryRoots, say_once
from core.scan.comparison import (
    Comparison,
    Key,
    compare_blocking,
    load_files_blocking,
    walk_scope_blocking,
)
from core.scan.frames import child_environment, frame, read_frame
from core.scan.progress import MAX_PROBLEMS, ScanProgress
from core.scan.records import PackedRecords, SpilledRecords
from core.scan.walker import LogLine, WalkRequest

COMMAND = (sys.executable, "-m", "core.scan.walker")


class WalkChildError(Exception):
    """The walk child failed, or ended before it had answered."""


def walks_folder_trees(source: LibrarySource) -> bool:
    """Whether the source's walk is a folder tree walk the child can do in its place."""
    return getattr(source, "walks_folder_trees", False) is True


async def compare_library(
    catalog: Catalog,
    source: LibrarySource,
    library_id: int,
    roots: LibraryRoots,
    progress: ScanProgress,
    scope: list[Key] | None = None,
) -> Comparison:
    """Walk the source (or only `scope`) and compare it with the catalog's rows."""
    kind = source.library.kind
    if walks_folder_trees(source):
        folders = tuple(os.fspath(root) for root in source.roots())
        request = WalkRequest(os.fspath(catalog.path), library_id, kind, folders, roots, scope)
        return await compare_in_child(request, progress)
    known = await catalog.read(lambda db: load_files_blocking(db, library_id, scope))
    walk = source.walk_blocking(roots) if scope is None else walk_scope_blocking(scope, roots)
    return await asyncio.get_running_loop().run_in_executor(
        None, compare_blocking, walk, known, kind, progress, scope
    )


async def compare_in_child(
    request: WalkRequest, progress: ScanProgress, command: Sequence[str] = COMMAND
) -> Comparison:
    """Run one walk in a child process; cancelled, the child is killed. The new files of the
    result may be in a temporary file: `close` them when done."""
    # no name: gone with its last descriptor, crash or not; owned by the result when returned
    spill = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        request = dataclasses.replace(request, spill=spill.fileno())
        result, counts = await _run(request, progress, command, spill.fileno())
    except BaseException:
        spill.close()
        raise
    total = sum(counts.values())
    if total:
        result.new = SpilledRecords(spill, total, counts)
    else:
        spill.close()
        result.new = PackedRecords()
    return result


async def _run(
    request: WalkRequest, progress: ScanProgress, command: Sequence[str], spill: int
) -> tuple[Comparison, dict[str, int]]:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(),
        pass_fds=(spill,),
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(frame(request))
        with contextlib.suppress(ConnectionError):  # it died: reading says how
            await process.stdin.drain()
        process.stdin.close()
        return await _receive(process.stdout, progress)
    except asyncio.IncompleteReadError:
        code = await process.wait()
        raise WalkChildError(
            f"the walk process ended before it answered ({_describe(code)})"
        ) from None
    finally:
        # Answered, it has nothing left to do but free its memory; cancelled, it must not
        # walk on for nobody
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()


async def _receive(
    stdout: asyncio.StreamReader, progress: ScanProgress
) -> tuple[Comparison, dict[str, int]]:
    """Apply the child's progress as it comes, until the difference it sends at the end."""
    seen, unchanged, errors = progress.seen, progress.unchanged, progress.errors
    while True:
        message = await read_frame(stdout)
        if message[0] == "progress":
            _, child_seen, child_unchanged, child_errors, problems, logs = message
            progress.seen, progress.unchanged = seen + child_seen, unchanged + child_unchanged
            progress.errors = errors + child_errors
            room = max(MAX_PROBLEMS - len(progress.problems), 0)
            progress.problems.extend(problems[:room])
            _log(logs)
        elif message[0] == "result":
            return message[1], message[2]
        elif message[0] == "failed":
            raise WalkChildError(f"the walk process failed:\n{message[1]}")
        else:
            raise WalkChildError(f"the walk process sent {message[0]!r} out of turn")


def _log(lines: list[LogLine]) -> None:
    for name, level, message, once, args in lines:
        if once is not None:
            what, path = once
            say_once(level, what, path, message, *args[1:])
        else:
            logging.getLogger(name).log(level, "%s", message)


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"
