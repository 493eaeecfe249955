"""Runs scans one at a time, keeps their progress, and owns the worker processes.

A Pi has little to spare, so there is one scan at a time, requests for the same library are
merged, and the probe workers exist only while there is probing to do. Library rows are
created and updated here; a library goes offline (items hidden, kept) only when its source
says so. A scan stopped by a full disk is resumed by itself once space returns (a catalog
write succeeds, or the free space has grown when it looks again), not left failed until
someone rescans. It never walks or probes itself: LibraryScan does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any

from core.bus import EventBus
from core.catalog import Catalog
from core.catalog.database import Database
from core.errors import DiskFullError
from core.events import LibraryChanged, ScanFinished, ScanStarted
from core.heap import trim_blocking
from core.kinds import LibrarySource, MetadataProvider, MetadataRequest
from core.library.fields import merge_fields
from core.library.lan import lan_visible_by_default
from core.library.roots import LibraryRoots
from core.registry import Registry
from core.scan.pool import ProbePool
from core.scan.progress import ScanProgress
from core.scan.scanner import LibraryScan

_LOGGER = logging.getLogger("hearth.scan")
# how long a scan stopped by a full disk waits before looking at the free space again
SPACE_RETRY_DELAYS = (30.0, 60.0, 300.0, 900.0, 1800.0)
SPACE_MARGIN = 1 << 20  # freed bytes that count as "space returned"
STALLED = "The disk is full; this scan resumes by itself once space is freed."


def default_workers() -> int:
    """Probe processes: one on a box with two cores or fewer (each costs ~50-60 MB and the main
    process needs a core for planning and writing), two on bigger boxes."""
    return 1 if (os.cpu_count() or 1) <= 2 else 2


def alone_workers() -> int:
    """Probe processes for a scan with nothing else running (`hearth scan` with no server): one
    per core. The main process mostly waits on them and on SQLite, and no stream or page is
    there to be kept smooth; the server keeps to `default_workers`."""
    return max(1, os.cpu_count() or 1)


def _library_row_blocking(db: Database, source_id: str) -> Any:
    return db.execute(
        "SELECT id, name, kind, online FROM libraries WHERE source_id = ?", [source_id]
    ).fetchone()


def _library_blocking(db: Database, source: LibrarySource, online: bool) -> int:
    """The library row of a source, written only when new or when name, kind or state changed."""
    info = source.library
    row = _library_row_blocking(db, source.source_id)
    if row is None:  # TVs see a new library of photos or home videos only once it is ticked
        cursor = db.execute(
            "INSERT INTO libraries (source_id, name, kind, online, created_at, lan_visible) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                source.source_id,
                info.name,
                info.kind,
                int(online),
                _now(),
                int(lan_visible_by_default(info.kind)),
            ],
        )
        return int(cursor.lastrowid or 0)
    if (row[1], row[2], bool(row[3])) != (info.name, info.kind, online):
        db.execute(
            "UPDATE libraries SET name = ?, kind = ?, online = ? WHERE id = ?",
            [info.name, info.kind, int(online), row[0]],
        )
    return int(row[0])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ScanManager:
    """The queue of scans and the worker pool."""

    def __init__(
        self,
        catalog: Catalog,
        bus: EventBus,
        sources: Registry[LibrarySource],
        providers: Registry[MetadataProvider],
        workers: int = 0,
    ) -> None:
        self._catalog = catalog
        self._bus = bus
        self._sources = sources
        self._providers = providers
        self._configured = workers
        self._workers = workers or default_workers()
        self._queue: dict[str, list[str] | None] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pool: ProbePool | None = None
        self._task: asyncio.Task[None] | None = None
        self._faulted: set[str] = set()
        self.current: ScanProgress | None = None
        self.last: dict[str, ScanProgress] = {}
        self._stalled: dict[str, list[str] | None] = {}  # stopped by a full disk
        self._free_when_stalled = 0
        self._space_watch: asyncio.Task[None] | None = None
        self.space_retry_delays = SPACE_RETRY_DELAYS
        catalog.on_space_returned(self._resume_stalled)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="scan-queue")

    async def close(self) -> None:
        """Stop after the batch in flight; a scan cut short resumes from the catalog next time."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._space_watch is not None:
            self._space_watch.cancel()
            await asyncio.gather(self._space_watch, return_exceptions=True)
            self._space_watch = None
        await self._close_pool(grace=1.0)

    @property
    def workers(self) -> int:
        """How many probe processes scans may use."""
        return self._workers

    def run_alone(self) -> None:
        """Nothing else runs on this box (a command-line scan): unless the configuration sets
        `scan_workers`, probe with one worker per core. Call before the first request."""
        if not self._configured and self._pool is None:
            self._workers = alone_workers()

    def request(self, source_id: str, folders: list[str] | None = None) -> None:
        """Queue a scan of one source (only `folders`, if given); merged with a queued one."""
        if source_id in self._queue:
            queued = self._queue[source_id]
            self._queue[source_id] = None if queued is None or folders is None else queued + folders
        else:
            self._queue[source_id] = folders
        if folders is None:
            self._stalled.pop(source_id, None)  # this full scan covers the stopped one
        self._idle.clear()
        self._wakeup.set()

    def request_all(self) -> list[str]:
        """Queue every registered source; returns their ids."""
        names = self._sources.names()
        for name in names:
            self.request(name)
        return names

    async def wait_idle(self) -> None:
        """Until the queue is empty and no scan runs."""
        await self._idle.wait()

    async def ensure_library(self, source: LibrarySource, online: bool) -> tuple[int, bool]:
        """The library id of a source, and whether its row had to be written (read first:
        an unchanged library costs no write)."""
        row = await self._catalog.read(lambda db: _library_row_blocking(db, source.source_id))
        info = source.library
        if row is not None and (row[1], row[2], bool(row[3])) == (info.name, info.kind, online):
            return int(row[0]), False
        library_id = await self._catalog.write(lambda db: _library_blocking(db, source, online))
        return library_id, True

    async def set_online(self, source: LibrarySource, online: bool) -> int:
        """Mark a library on- or offline (a drive came or went); its items are never deleted."""
        library_id, written = await self.ensure_library(source, online)
        if written:
            self._bus.publish(LibraryChanged(library_id))
        return library_id

    def status(self) -> dict[str, Any]:
        """What /api/scan shows."""
        return {
            "state": "scanning" if self.current else "idle",
            "current": self.current.as_dict() if self.current else None,
            "queued": list(self._queue),
            "last": {name: p.as_dict() for name, p in self.last.items()},
            "waiting_for_space": list(self._stalled),
        }

    async def _run(self) -> None:
        while True:
            if not self._queue:
                await self._close_pool()
                # what probing and writing freed (plans, batches, SQLite's pages): back to the
                # system (the walk and the comparison ran in a child that has exited)
                await self._catalog.release_memory()
                await asyncio.to_thread(trim_blocking)
                if self._queue:  # asked for while the workers were stopping
                    continue
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            source_id = next(iter(self._queue))
            folders = self._queue.pop(source_id)
            source = self._sources.get(source_id)
            if source is None:
                continue
            try:
                await self._scan(source, folders)
            except asyncio.CancelledError:
                raise
            except DiskFullError:
                _LOGGER.warning("Scan of %s stopped: %s", source.library.name, STALLED)
                if self.current is not None:
                    self.current.state, self.current.message = "failed", STALLED
                await self._stall(source_id, folders)
            except Exception as err:
                _LOGGER.exception("Scan of %s failed", source.library.name)
                if self.current is not None:
                    self.current.state, self.current.message = "failed", str(err)
            finally:
                if self.current is not None:
                    self.current.finished = time.monotonic()
                    self.last[source.library.name] = self.current
                    self.current = None

    async def _stall(self, source_id: str, folders: list[str] | None) -> None:
        """Keep a scan the full disk stopped, to run again once space returns."""
        if source_id in self._stalled:
            kept = self._stalled[source_id]
            folders = None if kept is None or folders is None else kept + folders
        self._stalled[source_id] = folders
        self._free_when_stalled = await self._free_bytes()
        if self._space_watch is None or self._space_watch.done():
            self._space_watch = asyncio.get_running_loop().create_task(
                self._watch_space(), name="scan-space-watch"
            )

    async def _free_bytes(self) -> int:
        folder = self._catalog.path.parent
        usage = await asyncio.get_running_loop().run_in_executor(None, shutil.disk_usage, folder)
        return usage.free

    async def _watch_space(self) -> None:
        """Look at the free space now and then, less often as time goes by: nothing may write
        to the catalog for a long while on an idle box, yet the scans should resume."""
        delays = self.space_retry_delays
        for delay in itertools.chain(delays, itertools.repeat(delays[-1])):
            await asyncio.sleep(delay)
            if not self._stalled:
                return
            if await self._free_bytes() > self._free_when_stalled + SPACE_MARGIN:
                self._resume_stalled()
                return

    def _resume_stalled(self) -> None:
        """Space returned: queue every scan the full disk stopped."""
        stalled, self._stalled = self._stalled, {}
        for source_id, folders in stalled.items():
            source = self._sources.get(source_id)
            name = source.library.name if source is not None else source_id
            _LOGGER.info("Space is free again; resuming the scan of %s", name)
            self.request(source_id, folders)

    async def _scan(self, source: LibrarySource, folders: list[str] | None) -> None:
        progress = ScanProgress(0, source.library.name)
        self.current = progress  # before any await: the scan is visibly under way
        online = await asyncio.get_running_loop().run_in_executor(None, source.is_online)
        library_id, written = await self.ensure_library(source, online)
        if written:
            self._bus.publish(LibraryChanged(library_id))
        progress.library_id = library_id
        if not online:
            progress.state, progress.message = "offline", "the source is not available"
            return
        self._bus.publish(ScanStarted(library_id, source.library.name))
        roots = LibraryRoots.of(self._sources.values())  # which links the walk may follow
        metadata = partial(self.metadata, roots=roots)
        scan = LibraryScan(
            self._catalog, source, library_id, progress, self._ensure_pool(), metadata, roots
        )
        changed = await scan.run(folders)
        progress.state = "done"
        _LOGGER.log(
            logging.INFO if changed or folders is None else logging.DEBUG,
            "Scanned %s: %d files, %d new, %d changed, %d moved, %d removed, %d errors in %.1f s",
            source.library.name,
            progress.seen,
            progress.new,
            progress.changed,
            progress.moved,
            progress.removed,
            progress.errors,
            progress.elapsed,
        )
        self._bus.publish(ScanFinished(library_id, source.library.name, changed, progress.errors))
        if changed:
            self._bus.publish(LibraryChanged(library_id))

    async def metadata(
        self,
        kind: str,
        path: Path | None,
        known: dict[str, Any],
        roots: LibraryRoots | None = None,
    ) -> dict[str, Any]:
        """Ask every provider in configured order; the name-derived facts fill what is left."""
        results: list[dict[str, Any]] = []
        for name, provider in self._providers:
            try:
                result = await provider.lookup(MetadataRequest(kind, path, known, roots))
            except Exception:
                if name not in self._faulted:  # an outage is logged once, not per file
                    self._faulted.add(name)
                    _LOGGER.warning("Metadata provider %s failed; skipping it", name, exc_info=True)
                continue
            if result is not None:
                results.append(dict(result.fields))
        results.append(known)
        return merge_fields(results)

    def _ensure_pool(self) -> ProbePool:
        if self._pool is None:  # its workers start with the first chunk to probe
            self._pool = ProbePool(self._workers)
        return self._pool

    async def _close_pool(self, grace: float = 5.0) -> None:
        """End the workers: they exist only while there is probing to do. Forgotten only once
        closed: a close cut short (the queue task cancelled) is finished by the next one."""
        pool = self._pool
        if pool is not None:
            await pool.close(grace)
            if self._pool is pool:
                self._pool = None
