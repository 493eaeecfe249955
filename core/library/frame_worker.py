"""The process that makes stills (frames.py), and the server's client for it.

One worker process at a time, at the lowest CPU priority Linux has (SCHED_IDLE, else nice 19),
so a frame grab only ever uses a core nobody else wants; it exists only while there are stills
to make. Requests and answers are JSON lines on its stdin and stdout, one item at a time. A
worker that crashes on a damaged file (a decoder fault kills a process, not an exception) or
takes longer than `timeout` is ended and the item gets that as its reason (a timeout is not a
lasting one: a busy box may have starved the worker); the next request starts a fresh one. It
also makes artists' pictures from their albums' covers: reading a cover loads Pillow and PyAV,
which the server would otherwise hold for good. The client never decodes anything itself and
never writes a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.library.roots import LibraryRoot, LibraryRoots, OutsideLibraryError

_LOGGER = logging.getLogger("hearth.stills")
TIMEOUT = 60.0
MIN_SECONDS = 2.0
"""Shorter clips get no picture: there is no "middle" to pick from, and most are mistakes."""
_LIMIT = 1 << 16  # longest answer line
_SOURCE = str(Path(__file__).resolve().parents[2])  # where `core` is importable from


@dataclass(frozen=True, slots=True)
class StillOutcome:
    """What became of one request: the moment the still was taken from, or why there is none."""

    at: float | None
    reason: str | None
    lasting: bool = True  # False: a busy box, not the file; worth trying at the next scan


class FrameWorkerClient:
    """Sends requests to the worker process, starting it when needed."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        """Whether a worker process is alive now (it holds ~50 MB while it is)."""
        return self._process is not None and self._process.returncode is None

    async def make(
        self, path: str, duration: float | None, still: Path, poster: Path, roots: LibraryRoots
    ) -> StillOutcome:
        """Ask for the still and poster of `path` (a checked real path of a library file). The
        worker opens it and checks the opened file against `roots` again, then decodes the open
        file: a link swapped in since the check cannot lead the decoder out of the library."""
        request = {
            "path": path,
            "duration": duration,
            "still": str(still),
            "poster": str(poster),
            "roots": _folders(roots),
        }
        answer = await self._ask(request)
        if isinstance(answer, StillOutcome):
            return answer
        return StillOutcome(answer.get("at"), answer.get("reason"), not answer.get("moved"))

    async def cover(self, ref: str, cache_dir: Path, roots: LibraryRoots) -> str | None:
        """The name of an artist's still made from an album's cover `ref`, or None when there
        is no picture in it. Here, not in the server: reading a cover loads Pillow and PyAV
        (~20 MB that a server stays at for good once loaded)."""
        answer = await self._ask(
            {"cover": ref, "cache_dir": str(cache_dir), "roots": _folders(roots)}
        )
        if isinstance(answer, StillOutcome):
            return None
        if "reason" in answer:
            _LOGGER.debug("No artist picture from %s", answer["reason"])
        name = answer.get("name")
        return name if isinstance(name, str) else None

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any] | StillOutcome:
        """The worker's answer to one request, or the outcome that it gave none."""
        process = await self._started()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            await process.stdin.drain()
            # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancellation that comes
            # with the answer, and a stopping job would go on to wait for the next scan
            async with asyncio.timeout(self.timeout):
                line = await process.stdout.readline()
        except TimeoutError:
            await self.close()
            # Under SCHED_IDLE a busy box can starve the worker: the file may be fine.
            return StillOutcome(None, f"took longer than {self.timeout:.0f} s", lasting=False)
        except (ConnectionError, OSError):
            line = b""
        if not line:
            code = await self._ended()
            return StillOutcome(None, f"made the frame reader stop ({_exit_text(code)})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def _started(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            env = dict(os.environ)  # `core` importable however the server was started
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SOURCE, env.get("PYTHONPATH")]))
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "core.library.frame_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,  # FFmpeg's complaints about damaged files
                limit=_LIMIT,
                env=env,
            )
        return self._process

    async def _ended(self) -> int | None:
        """End a worker that stopped answering; its exit status."""
        process, self._process = self._process, None
        if process is None:
            return None
        return await _finish(process, grace=0.0)

    async def close(self) -> None:
        """End the worker (it holds ~50 MB); the next request starts another."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            await _finish(process, grace=2.0)
        except BaseException:  # cancelled while it finished (the server stops): never left
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise


async def _finish(process: asyncio.subprocess.Process, grace: float) -> int:
    """End of input, `grace` seconds to finish the item in hand, then SIGKILL; its output is
    read to the end, so its pipes are closed before the event loop may be."""
    if process.stdin is not None:
        process.stdin.close()  # the worker ends at end of input
    try:
        async with asyncio.timeout(grace):  # as in make(): a cancellation is never lost
            await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.communicate()
    return await process.wait()


def _folders(roots: LibraryRoots) -> list[list[str]]:
    return [[root.path, root.follow] for root in roots.roots]


def too_short(seconds: float | None) -> str | None:
    """The reason a video of this length gets no still, or None when it is long enough."""
    if seconds is not None and seconds >= MIN_SECONDS:
        return None
    shown = "unknown" if seconds is None else f"{seconds:.1f} s"
    return f"is too short for a representative frame ({shown})"


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {-code}"
    return f"exit status {code}"


def _lowest_priority() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


def _still_blocking(request: dict[str, Any], roots: LibraryRoots) -> dict[str, object]:
    """Open the file, check the opened file is a library file, decode it through its
    descriptor (`/proc/self/fd/N`): never by a name a link could have redirected since."""
    from core.library.frames import make_still_blocking

    try:
        opened = roots.open_blocking(request["path"])
    except OutsideLibraryError:  # a link out of the library since the check: the next scan
        return {"reason": "leads outside every library folder now", "moved": True}
    except OSError as err:
        return {"reason": f"cannot be opened as a video ({err.strerror or err})"}
    with opened:
        at = make_still_blocking(
            opened.proc_path, request["duration"], Path(request["still"]), Path(request["poster"])
        )
    return {"at": at}


def main() -> None:
    """Answer requests until stdin ends."""
    _lowest_priority()
    import av

    from core.library.artwork import ArtworkError
    from core.library.frames import FrameError, cover_still_blocking

    av.logging.set_level(av.logging.PANIC)  # damaged files are expected; the answer says why
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, object]
        try:
            roots = LibraryRoots(LibraryRoot(path, follow) for path, follow in request["roots"])
            if "cover" in request:
                name = cover_still_blocking(request["cover"], Path(request["cache_dir"]), roots)
                answer = {"name": name}
            else:
                answer = _still_blocking(request, roots)
        except (FrameError, ArtworkError) as err:
            answer = {"reason": str(err)}
        except OSError as err:
            answer = {"reason": f"could not be written ({err.strerror or err})"}
        except Exception as err:  # a library fault on an odd file: this item only
            answer = {"reason": f"could not be decoded ({type(err).__name__}: {err})"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
