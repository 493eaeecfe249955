"""The probe workers: a few child processes, each fed chunks of files over a pipe.

Not a ProcessPoolExecutor: that spawns workers that re-import the parent's main module and keeps
a resource-tracker process beside them, ~20 MB together on a box that has 150 MB for a whole
scan. Here each worker is `python -m core.scan.worker`, talking length-prefixed pickles over its
stdin and stdout (see that module), started when the first chunk needs it.

Requests to one worker are pipelined (it never waits for the next chunk) and answered in order,
so when a worker dies, the request it was working on is the oldest one unanswered: only that
chunk is blamed, the ones queued behind it are simply sent again. A blamed chunk is retried file
by file, and a single file that kills a worker (FFmpeg crashing on a hostile file) becomes that
file's error: a scan never stops for one file. A worker that dies before it is ready means the
workers cannot start at all, which fails the scan instead of blaming every file.

A worker is replaced after `recycle_after` files (FFmpeg's heap grows with the files it has seen,
beyond what malloc_trim returns); the new one starts only once the old one has exited, so two
never hold memory at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.library.roots import LibraryRoots
from core.media.naming import parse_name
from core.scan.analysis import Analysis
from core.scan.frames import child_environment, frame, read_frame
from core.scan.worker import READY, Job

_LOGGER = logging.getLogger("hearth.scan")
# ~0.3 KB of FFmpeg heap per file probed stays with a worker (~3 MB after 10k files, on top of
# ~50 MB); a fresh one costs ~0.2 s of probing, ~1.5% of the time its 10k files take
RECYCLE_AFTER = 10_000
COMMAND = (sys.executable, "-m", "core.scan.worker")


class PoolClosedError(Exception):
    """The pool was closed while a request still needed it."""


class WorkerStartError(Exception):
    """A worker process exited before it was ready: the probe workers cannot run here."""


class WorkerError(Exception):
    """The analysis code raised in a worker (a bug, not a bad file); carries its traceback."""


class _Crashed(Exception):
    """The worker died while working on this request."""


class _Lost(Exception):
    """The worker died before it started on this request; it may be sent again."""


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    waiting: deque[asyncio.Future[list[Analysis]]] = field(default_factory=deque)
    sent: int = 0  # files sent, for recycling
    retiring: bool = False
    reader: asyncio.Task[None] | None = None


class ProbePool:
    """At most `size` workers; `analyse` a chunk of files in one of them."""

    def __init__(
        self,
        size: int,
        recycle_after: int = RECYCLE_AFTER,
        command: Sequence[str] = COMMAND,
    ) -> None:
        self._size = size
        self._recycle_after = recycle_after
        self._command = tuple(command)
        self._workers: list[_Worker] = []
        self._changed = asyncio.Condition()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """The worker processes alive now (for tests and diagnostics)."""
        return [w.process.pid for w in self._workers if w.process.returncode is None]

    async def analyse(self, jobs: list[Job], roots: LibraryRoots | None = None) -> list[Analysis]:
        """One Analysis per job, in order; a file that crashes a worker gets an error. `roots`:
        where library files may be (the worker checks each file it opens); each job's own
        library folder when not given."""
        while True:
            try:
                return await self._request(jobs, roots)
            except _Lost:
                continue  # never started: send it again
            except _Crashed as crash:
                if len(jobs) == 1:
                    root, relpath, kind = jobs[0]
                    _LOGGER.warning("Probing %s crashed a worker (%s)", relpath, crash)
                    return [_crashed(root, relpath, kind, str(crash))]
                # One by one: the culprit crashes alone, and a failure leaves no task behind
                return [analysis for job in jobs for analysis in await self.analyse([job], roots)]

    async def close(self, grace: float = 2.0) -> None:
        """Stop every worker: an idle one at the end of its input, a busy one (whose answers
        nobody will wait for) at once; any still running after `grace` seconds is killed."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()  # requests waiting for a worker give up
        workers = list(self._workers)
        for worker in workers:
            _end_input(worker)
            if worker.waiting:
                _signal(worker, signal.SIGTERM)
        readers = [w.reader for w in workers if w.reader is not None]
        if not readers:
            return
        _, late = await asyncio.wait(readers, timeout=grace)
        for worker in workers:
            _signal(worker, signal.SIGKILL)
        if late:
            await asyncio.wait(late)

    async def _request(self, jobs: list[Job], roots: LibraryRoots | None) -> list[Analysis]:
        future: asyncio.Future[list[Analysis]] = asyncio.get_running_loop().create_future()
        async with self._changed:
            worker = await self._pick()
            worker.sent += len(jobs)
            worker.retiring = worker.sent >= self._recycle_after
            worker.waiting.append(future)
            stdin = worker.process.stdin
            assert stdin is not None
            stdin.write(frame((jobs, roots)))
            if worker.retiring:  # its last request: it exits when done with what it has
                _end_input(worker)
        with contextlib.suppress(ConnectionError):  # it died: its reader fails the request
            await stdin.drain()
        return await future

    async def _pick(self) -> _Worker:
        """The least busy worker, started if there is room; waits while old ones retire.
        Called with `_changed` held."""
        while True:
            if self._closed:
                raise PoolClosedError("the probe pool is closed")
            if len(self._workers) < self._size:
                return await self._start()
            active = [w for w in self._workers if not w.retiring and w.process.returncode is None]
            if active:
                return min(active, key=lambda w: len(w.waiting))
            await self._changed.wait()

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=child_environment(),
        )
        worker = _Worker(process)
        worker.reader = asyncio.get_running_loop().create_task(
            self._read(worker), name=f"probe-worker-{process.pid}"
        )
        self._workers.append(worker)
        return worker

    async def _read(self, worker: _Worker) -> None:
        """Hand each answer to the oldest request; when the worker ends, fail what is left."""
        stdout = worker.process.stdout
        assert stdout is not None
        ready = False
        try:
            ready = await read_frame(stdout) == READY
            while ready:
                ok, value = await read_frame(stdout)
                future = worker.waiting.popleft()
                if future.done():  # its scan was cancelled
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(WorkerError(f"probe worker failed:\n{value}"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # it exited
        except BaseException:  # a garbled reply, or the loop is going away without close()
            _signal(worker, signal.SIGKILL)  # never an orphan, never a wait on a live one
            raise
        finally:
            code = await worker.process.wait()
            _fail(worker, ready, _describe(code))
            async with self._changed:
                self._workers.remove(worker)
                self._changed.notify_all()


def _end_input(worker: _Worker) -> None:
    stdin = worker.process.stdin
    if stdin is not None and not stdin.is_closing():
        stdin.close()


def _fail(worker: _Worker, ready: bool, how: str) -> None:
    """The oldest unanswered request was being worked on; the others never started."""
    for index, future in enumerate(worker.waiting):
        if future.done():
            continue
        if not ready:
            future.set_exception(
                WorkerStartError(f"a probe worker could not start ({how}); see its output above")
            )
        else:
            future.set_exception(_Crashed(how) if index == 0 else _Lost())
    worker.waiting.clear()


def _signal(worker: _Worker, signum: int) -> None:
    if worker.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(signum)


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def _crashed(root: str, relpath: str, kind: Any, problem: str) -> Analysis:
    try:
        name = parse_name(relpath, kind)
    except Exception:  # naming is total by design; the crash is what is worth reporting
        name = None
    return Analysis(root, relpath, None, name, None, f"probing crashed the worker ({problem})")
