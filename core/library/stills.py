"""Pictures for everything: stills made in the background for videos that have no artwork.

After each scan the library's movies, episodes and home videos that have no poster, thumb or
fanart of their own get a still from a representative frame (frames.py, in the worker process
of frame_worker.py): a 16:9 `thumb` for all, a 2:3 `poster` too for movies. Shows and seasons
without artwork take their first episode's still (specials last), artists without artwork the
cover of their first album. The pictures are `still:<name>.jpg` references in the item's
metadata, so the web app, TVs (DLNA) and music apps all show them through the one thumbnail
cache (artwork.py), and a poster someone adds later replaces them at the next scan.

A still is named after the file's path, size and modification time: an unchanged file is never
decoded again, and one that could not be made (too short, damaged, black) leaves a small
`.none` note with its reason, logged once, so it is not tried at every scan. One item at a time,
only once scans are done; on a small box (four cores or fewer) it pauses while someone watches
something the server converts (a transcode, a remux or an HLS session), since both want the same
CPU. Stills no item refers to any more are deleted when the queue is done. Progress is part of
GET /api/scan. It never writes beside the media and never touches artwork people made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.catalog.database import Database
from core.events import LibraryChanged, ScanFinished
from core.heap import trim_blocking
from core.library.artwork import STILLS_FOLDER, still_path
from core.library.fields import STILL_PREFIX
from core.library.frame_worker import FrameWorkerClient, StillOutcome, too_short
from core.library.roots import LibraryRoots
from core.library.still_catalog import (
    Leaf,
    container_plans_blocking,
    leaves_blocking,
    library_blocking,
    referenced_blocking,
    writer,
)

if TYPE_CHECKING:
    from core.bus import EventBus
    from core.catalog import Catalog
    from core.kinds import LibrarySource
    from core.playback.engine import PlaybackEngine
    from core.registry import Registry
    from core.scan.manager import ScanManager

_LOGGER = logging.getLogger("hearth.stills")
PAUSE_POLL = 2.0  # how often a paused job looks whether the watching has ended
SMALL_BOX_CORES = 4
_PROBLEMS_KEPT = 50
_FLUSH = 25  # stills written to the catalog per transaction when nothing needed decoding
_PAGE = 2000  # videos read from the catalog at a time


@dataclass
class StillsProgress:
    """What the admin page shows: state, counts of this pass, the item now, recent problems."""

    state: str = "idle"  # idle, queued, waiting (for a scan), working, paused
    library: str | None = None
    done: int = 0
    total: int = 0
    current: str | None = None
    made: int = 0
    failed: int = 0
    paused_because: str | None = None
    problems: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=_PROBLEMS_KEPT))

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "library": self.library,
            "done": self.done,
            "total": self.total,
            "current": self.current,
            "made": self.made,
            "failed": self.failed,
            "paused_because": self.paused_because,
            "problems": list(self.problems),
        }


class StillsJob:
    """The queue of libraries to give stills, worked through one item at a time."""

    def __init__(
        self,
        catalog: Catalog,
        bus: EventBus,
        sources: Registry[LibrarySource],
        scans: ScanManager,
        playback: PlaybackEngine | None,
        cache_dir: Path,
    ) -> None:
        self._catalog = catalog
        self._bus = bus
        self._sources = sources
        self._scans = scans
        self._playback = playback  # a small box pauses while it converts for someone
        self.cache_dir = cache_dir
        self.progress = StillsProgress()
        self.pause_for_streams = (os.cpu_count() or 1) <= SMALL_BOX_CORES
        self.poll = PAUSE_POLL
        self._queue: list[int] = []
        # item pk -> its entry in the problems, oldest first (as many as the problems)
        self._listed: dict[int, dict[str, str]] = {}
        self._wakeup = asyncio.Event()
        self._change = asyncio.Event()
        self._client = FrameWorkerClient()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(ScanFinished, self._on_scan)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="stills")

    async def close(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._client.close()

    def status(self) -> dict[str, Any]:
        return self.progress.as_dict()

    @property
    def worker_running(self) -> bool:
        """Whether the frame worker process is alive: only while a still is being made."""
        return self._client.running

    def request(self, library_id: int) -> None:
        if library_id not in self._queue:
            self._queue.append(library_id)
        if self.progress.state == "idle":
            self._set(state="queued")
        self._wakeup.set()

    async def wait_until(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        """Until the status satisfies `predicate` (tests, and anyone who must not poll)."""
        while True:
            change = self._change
            if predicate(self.status()):
                return
            await change.wait()

    def _on_scan(self, event: ScanFinished) -> None:
        self.request(event.library_id)

    def _set(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self.progress, key, value)
        self._change.set()
        self._change = asyncio.Event()

    async def _run(self) -> None:
        worked = False
        while True:
            if not self._queue:
                await self._client.close()  # its memory back while there is nothing to do
                if worked:
                    await self._collect_garbage()
                    # a pass over 60k videos freed its pages and reads: back to the system
                    await asyncio.to_thread(trim_blocking)
                    worked = False
                self._set(state="idle", current=None, paused_because=None)
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if not worked:  # counts are per run of the queue, over all its libraries
                self._set(made=0, failed=0)
            await self._wait_for_scans()
            library_id = self._queue.pop(0)
            worked = True
            try:
                await self._library(library_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Making stills for library %d failed", library_id)

    async def _wait_for_scans(self) -> None:
        """A scan uses every core and rewrites metadata: stills wait for it to end."""
        scans = self._scans
        while scans.current is not None or scans.status()["queued"]:
            await self._client.close()  # a long scan must not find ~50 MB kept for later
            self._set(state="waiting", paused_because="a library scan is running")
            await scans.wait_idle()
        self._set(paused_because=None)

    async def _library(self, library_id: int) -> None:
        catalog = self._catalog
        name, total = await catalog.read(lambda db: library_blocking(db, library_id))
        self._set(state="working", library=name, done=0, total=total, current=None)
        changed, before = 0, None
        while True:
            page: list[Leaf] = await catalog.read(partial(_page, library_id, before))
            if not page:
                break
            before = page[-1].pk
            changed += await self._leaves(page)
        changed += await self._containers(library_id)
        # the next library may need no decoding at all (its videos too short, or known): its
        # pass must not keep a worker started here for a cover idle all along (~50 MB)
        await self._client.close()
        self._set(current=None)
        if changed:
            self._bus.publish(LibraryChanged(library_id))

    async def _leaves(self, page: list[Leaf]) -> int:
        """Stills for one page of videos; returns how many items changed."""
        catalog, changed = self._catalog, 0
        ready: list[tuple[int, dict[str, str]]] = []
        for leaf in page:
            wanted = leaf.wanted()
            decoded = False
            if any(leaf.art.get(kind) != ref for kind, ref in wanted.items()):
                exists, decoded = await self._make(leaf)
                if exists:
                    ready.append((leaf.pk, wanted))
            self._set(done=self.progress.done + 1)
            if ready and (len(ready) >= _FLUSH or decoded):  # a new picture shows at once
                changed += await catalog.write(writer(ready))
                ready = []
        if ready:
            changed += await catalog.write(writer(ready))
        return changed

    async def _make(self, leaf: Leaf) -> tuple[bool, bool]:
        """Whether the leaf's still exists now (made before, or now), and whether it was
        decoded now."""
        still = still_path(self.cache_dir, f"{leaf.name}.jpg")
        poster = still_path(self.cache_dir, f"{leaf.name}-poster.jpg")
        known = await _run(_known_blocking, still, poster)
        if known is True:
            return True, False
        if isinstance(known, str):  # tried before: logged then, listed again after a restart
            self._problem(leaf, known)
            return False, False
        short = too_short(leaf.duration) if leaf.duration is not None else None
        if short is not None:  # the catalog knows: no process needed to find out
            outcome = StillOutcome(None, short)
        else:
            await self._wait_while_busy()
            self._set(state="working", current=leaf.title)
            roots = LibraryRoots.of(self._sources.values())
            try:
                real = await _run(roots.real_path_blocking, leaf.path)
            except OSError:
                return False, False  # gone since the scan, or a link out of the library now
            outcome = await self._client.make(real, leaf.duration, still, poster, roots)
        if outcome.reason is None:
            self._set(made=self.progress.made + 1)
            return True, True
        _LOGGER.info("No still for %s: it %s", leaf.path, outcome.reason)
        if outcome.lasting:  # the same file would fail the same way: not tried again
            await _run(_note_blocking, still, outcome.reason)
        self._problem(leaf, outcome.reason)
        return False, True

    def _problem(self, leaf: Leaf, reason: str) -> None:
        """List an item without a picture once, newest first, with why. Only the listed ones
        are remembered by key: a first scan of 60k short clips once kept an entry for each
        (~25 MB for as long as the server ran), although the page shows the last 50."""
        problems = self.progress.problems
        entry = {"item": leaf.title, "reason": f"It {reason}."}
        old = self._listed.pop(leaf.pk, None)
        if old is not None and old in problems:
            problems.remove(old)
        problems.appendleft(entry)
        self._listed[leaf.pk] = entry
        while len(self._listed) > len(problems):  # the oldest fell off the deque's end
            del self._listed[next(iter(self._listed))]
        self._set(failed=self.progress.failed + 1)

    async def _wait_while_busy(self) -> None:
        while True:
            await self._wait_for_scans()
            why = self._busy()
            if why is None:
                return
            if self.progress.state != "paused":  # a film lasts hours: no worker kept for it
                await self._client.close()
            self._set(state="paused", paused_because=why)
            await asyncio.sleep(self.poll)  # capacity has no event to await; a cheap look

    def _busy(self) -> str | None:
        """Why frames must wait now, on a small box: someone watches a conversion."""
        playback = self._playback
        if not self.pause_for_streams or playback is None:
            return None
        if playback.capacity.in_use > 0 or playback.manager.sessions:
            return "someone is watching, and this box needs its processor for that"
        return None

    async def _containers(self, library_id: int) -> int:
        """Shows and seasons take their first episode's still, artists their first album's
        cover; returns how many items changed."""
        plans = await self._catalog.read(lambda db: container_plans_blocking(db, library_id))
        updates: list[tuple[int, dict[str, str]]] = []
        for pk, kind, source in plans:
            if kind == "artist":
                roots = LibraryRoots.of(self._sources.values())
                name = await self._client.cover(source, self.cache_dir, roots)
                if name is not None:
                    updates.append((pk, {"thumb": STILL_PREFIX + name}))
            else:
                base = source.removeprefix(STILL_PREFIX).removesuffix(".jpg")
                poster = f"{STILL_PREFIX}{base}-poster.jpg"
                updates.append((pk, {"thumb": source, "poster": poster}))
        return await self._catalog.write(writer(updates)) if updates else 0

    async def _collect_garbage(self) -> None:
        referenced = await self._catalog.read(referenced_blocking)
        removed = await _run(_remove_unused_blocking, self.cache_dir / STILLS_FOLDER, referenced)
        if removed:
            _LOGGER.info("Removed %d still(s) no item uses any more", removed)


def _page(library_id: int, before: int | None, db: Database) -> list[Leaf]:
    return leaves_blocking(db, library_id, before, _PAGE)


async def _run(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _known_blocking(still: Path, poster: Path) -> bool | str | None:
    """True when both pictures exist, the noted reason when they could not be made, else None."""
    if still.is_file() and poster.is_file():
        return True
    try:
        return still.with_suffix(".none").read_text(encoding="utf-8") or "unknown"
    except OSError:
        return None


def _note_blocking(still: Path, reason: str) -> None:
    with contextlib.suppress(OSError):
        still.parent.mkdir(parents=True, exist_ok=True)
        still.with_suffix(".none").write_text(reason, encoding="utf-8")


def _remove_unused_blocking(folder: Path, referenced: set[str]) -> int:
    """Delete stills no item refers to (their file changed or went). Notes of failures stay:
    a few bytes each, and they spare a damaged file from being decoded again."""
    removed = 0
    for path in folder.glob("*/*.jpg"):
        if path.name[:32] not in referenced:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed
