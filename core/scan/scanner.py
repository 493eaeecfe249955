"""One scan of one library source: compare what is on disk with the catalog, then write only
the difference.

The walk and the comparison run where they cost the server nothing (core.scan.walking: a
child process for folder trees), so the server gets only the difference. A no-change rescan
stats files and writes nothing (SD cards wear out). New and changed files are analysed in
worker processes, a bounded number of chunks at a time, and written in batches. A moved file
(same inode, or same size and first-MiB fingerprint) keeps its item and watch state. Nothing
is deleted while a source is offline or a root looks unmounted: a yanked drive must never cost
anyone their library. Links are followed only as the library roots allow (by default
to targets inside some library folder), so a file a link leads out to is never indexed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from core.catalog import Catalog
from core.catalog.database import Database
from core.kinds import FileRecord, LibrarySource
from core.library.roots import LibraryRoots
from core.media.naming import LibraryKind
from core.scan.analysis import (
    Analysis,
    is_legacy_fingerprint,
    legacy_head_hash_blocking,
    release_memory,
)
from core.scan.comparison import MEDIA_ROLE, Comparison, FileRow, Key
from core.scan.jobs import ProbeJobs
from core.scan.planning import ItemPlan, plan_item
from core.scan.pool import ProbePool
from core.scan.progress import ScanProgress
from core.scan.records import PackedRecords
from core.scan.walking import compare_library
from core.scan.writer import (
    CatalogWriter,
    ContainerPath,
    container_path,
    load_containers_blocking,
)

_LOGGER = logging.getLogger("hearth.scan")
CHUNK = 32
BATCH = 400
Metadata = Callable[[str, Path | None, dict[str, Any]], Awaitable[dict[str, Any]]]


class LibraryScan:
    """Scans one source into one library row; create one per scan."""

    def __init__(
        self,
        catalog: Catalog,
        source: LibrarySource,
        library_id: int,
        progress: ScanProgress,
        pool: ProbePool,
        metadata: Metadata,
        roots: LibraryRoots | None = None,
    ) -> None:
        """`roots`: every library's folders (which links may be followed); this one's alone
        when not given."""
        self._catalog = catalog
        self._source = source
        self._roots = roots if roots is not None else LibraryRoots.of([source])
        self._library_id = library_id
        self._kind = cast(LibraryKind, source.library.kind)
        self._progress = progress
        self._pool = pool
        self._metadata = metadata
        self._containers: dict[ContainerPath, int] = {}
        self._container_fields: dict[ContainerPath, dict[str, Any]] = {}
        self._legacy_sizes: set[int] = set()
        self._now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    async def run(self, folders: list[str] | None = None) -> bool:
        """Scan everything, or only `folders` (absolute); returns whether anything was written."""
        progress = self._progress
        progress.state = "walking"
        await self._remap_root()
        scope = self._scope(folders) if folders is not None else None
        comparison = await compare_library(
            self._catalog, self._source, self._library_id, self._roots, progress, scope
        )
        new = comparison.new  # a first scan's may be in a temporary file: closed at the end
        try:
            return await self._apply(comparison)
        finally:
            new.close()

    async def _apply(self, comparison: Comparison) -> bool:
        """Write the difference: sidecars, then the probed media, then what went missing."""
        progress = self._progress
        progress.new, progress.changed = len(comparison.new), len(comparison.changed)
        if not (comparison.new or comparison.changed or comparison.moved or comparison.missing):
            return False  # the common case: nothing changed, nothing written
        self._containers = await self._catalog.read(
            lambda db: load_containers_blocking(db, self._library_id)
        )
        media = MEDIA_ROLE[self._kind]
        await self._write_sidecars(comparison)
        known = [
            (record, row)
            for record, role, row in comparison.changed + comparison.moved
            if role == media
        ]
        jobs = ProbeJobs(comparison.new, media, known)
        progress.to_probe = jobs.total
        progress.moved = len(comparison.moved)
        # The jobs hold what is still needed: a 100k-item scan must not keep the lists twice
        comparison.new, comparison.changed, comparison.moved = PackedRecords(), [], []
        del known
        release_memory()
        progress.state = "probing"
        await self._analyse(jobs, comparison)
        progress.state = "writing"
        deletable = self._deletable(comparison)  # after analysis: copies found their originals
        if deletable or progress.written:
            await self._delete(deletable)
        await self._refresh_folders(comparison.dirty_folders)
        return progress.written or bool(deletable)

    async def _remap_root(self) -> None:
        """A drive mounted at a new place (or a library folder renamed in the configuration):
        when exactly one stored root is gone and exactly one current root is new, the files
        moved with it; one UPDATE instead of re-probing the whole drive."""
        current = {os.fspath(root) for root in self._source.roots()}
        stored = set(
            await self._catalog.read(lambda db: _stored_roots_blocking(db, self._library_id))
        )
        stale, fresh = stored - current, current - stored
        if len(stale) != 1 or len(fresh) != 1:
            return
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, os.path.isdir, next(iter(fresh))):
            return
        old, new = next(iter(stale)), next(iter(fresh))
        await self._catalog.write(
            lambda db: db.execute(
                "UPDATE files SET root = ? WHERE library_id = ? AND root = ?",
                [os.fsencode(new), self._library_id, os.fsencode(old)],
            )
        )
        _LOGGER.info("%s: files moved from %s to %s", self._source.library.name, old, new)
        self._progress.written = True

    def _scope(self, folders: list[str]) -> list[Key]:
        """(root, folder relative to it) for each absolute folder inside one of the roots, each
        walked once: the watcher and a scan resumed after a full disk may name a folder twice,
        or a folder and one inside it, and a file walked twice would be inserted twice."""
        found: set[Key] = set()
        for folder in folders:
            for root in map(os.fspath, self._source.roots()):
                if folder == root:
                    found.add((root, ""))
                elif folder.startswith(root + os.sep):
                    found.add((root, os.path.relpath(folder, root)))
        return [
            (root, rel)
            for root, rel in sorted(found)
            if not any(
                other_root == root and (other == "" or rel.startswith(other + os.sep))
                for other_root, other in found
                if (other_root, other) != (root, rel)
            )
        ]

    def _deletable(self, comparison: Comparison) -> list[int]:
        """Missing files that may really be deleted: not when the source or a root is absent."""
        if not comparison.missing:
            return []
        if not self._source.is_online():
            self._progress.message = "source offline: nothing removed"
            return []
        keep_roots = comparison.empty_roots
        if keep_roots:
            self._progress.message = (
                "a library folder is empty or unreadable (not mounted?): its items are kept"
            )
            _LOGGER.warning(
                "%s: %s looks empty; keeping its %d items until it is back",
                self._source.library.name,
                ", ".join(sorted(keep_roots)),
                sum(1 for k in comparison.missing if k[0] in keep_roots),
            )
        ids = [row.id for key, row in comparison.missing.items() if key[0] not in keep_roots]
        self._progress.removed = len(ids)
        return ids

    async def _write_sidecars(self, comparison: Comparison) -> None:
        media = MEDIA_ROLE[self._kind]
        new = comparison.new
        changed = [
            (r, row) for r, role, row in comparison.changed + comparison.moved if role != media
        ]
        if len(new) == new.count(media) and not changed:
            return

        def write(db: Database) -> None:
            writer = CatalogWriter(db, self._library_id, self._containers, self._now)
            for record, role in new:  # read here, in the writer's thread, when in a file
                if role != media:
                    writer.add_file(record, role, None)
            for record, row in changed:
                writer.update_file(row.id, record, None)

        await self._catalog.write(write)
        self._progress.written = True

    async def _analyse(self, jobs: ProbeJobs, comparison: Comparison) -> None:
        """Probe in the pool, a few chunks in flight; plan, ask providers, write in batches."""
        in_flight: dict[asyncio.Task[list[Analysis]], list[tuple[FileRecord, FileRow | None]]]
        in_flight = {}
        try:
            await self._probe_and_write(jobs, comparison, in_flight)
        finally:  # cancelled or failed: no chunk goes on being probed for nobody
            for task in in_flight:
                task.cancel()

    async def _probe_and_write(
        self,
        jobs: ProbeJobs,
        comparison: Comparison,
        in_flight: dict[asyncio.Task[list[Analysis]], list[tuple[FileRecord, FileRow | None]]],
    ) -> None:
        pending: list[
            tuple[FileRecord, FileRow | None, Analysis, ItemPlan | None, dict[str, Any]]
        ] = []
        limit = 4
        more = True
        by_hash: dict[tuple[int, str | None], FileRow] = {
            (row.size, row.head_hash): row for row in comparison.missing.values() if row.head_hash
        }
        # sizes of missing files fingerprinted the older way (a catalog from before 64 KiB ends)
        self._legacy_sizes = {size for size, fp in by_hash if fp and is_legacy_fingerprint(fp)}
        while more or in_flight:
            while more and len(in_flight) < limit:
                chunk = await jobs.take(CHUNK)
                if not chunk:
                    more = False
                    break
                payload = [(os.fspath(r.root), r.relpath, self._kind) for r, _ in chunk]
                probing = self._pool.analyse(payload, self._roots)
                in_flight[asyncio.ensure_future(probing)] = chunk
            if not in_flight:  # nothing (more) to probe
                break
            finished, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for future in finished:
                chunk = in_flight.pop(future)
                for (record, known_row), analysis in zip(chunk, future.result(), strict=True):
                    row = known_row
                    if row is None and analysis.head_hash and by_hash:
                        row = await self._moved_by_content(record, analysis, by_hash, comparison)
                    plan = plan_item(analysis, self._kind)
                    fields = await self._leaf_metadata(record, plan)
                    pending.append((record, row, analysis, plan, fields))
                    self._progress.probed += 1
                    if analysis.error:
                        self._progress.problem(
                            os.path.join(analysis.root, analysis.relpath), analysis.error
                        )
            if len(pending) >= BATCH:
                await self._write_batch(pending)
                pending = []
        if pending:
            await self._write_batch(pending)

    async def _moved_by_content(
        self,
        record: FileRecord,
        analysis: Analysis,
        by_hash: dict[tuple[int, str | None], FileRow],
        comparison: Comparison,
    ) -> FileRow | None:
        """A file copied elsewhere and deleted (new inode) is found again by its fingerprint."""
        row = by_hash.pop((record.size, analysis.head_hash), None)
        if row is None and record.size in self._legacy_sizes:
            # its row was fingerprinted by an older scan: compare it the older way (rare)
            path = os.path.join(analysis.root, analysis.relpath)
            try:
                legacy = await asyncio.get_running_loop().run_in_executor(
                    None, legacy_head_hash_blocking, path
                )
            except OSError:
                return None
            row = by_hash.pop((record.size, legacy), None)
        if row is None:
            return None
        for key, missing in list(comparison.missing.items()):
            if missing.id == row.id:
                del comparison.missing[key]
        self._progress.moved += 1
        return row

    async def _leaf_metadata(self, record: FileRecord, plan: ItemPlan | None) -> dict[str, Any]:
        """Provider results for the item, and for each container seen for the first time."""
        if plan is None:
            return {}
        known = {
            "title": plan.title,
            "year": plan.year,
            "index_number": plan.index_number,
            "filename": plan.name_fields,
            "embedded": plan.tag_fields,
        }
        path = Path(record.root) / record.relpath
        fields = await self._metadata(plan.kind, path, _present(known))
        for depth, container in enumerate(plan.containers):
            key = container_path(plan.containers[: depth + 1])
            if key in self._containers or key in self._container_fields:
                continue
            facts = {"title": container.title, "year": container.year}
            known_c = {**facts, "index_number": container.index_number, "filename": facts}
            if container.kind == "album" and "artwork" in plan.tag_fields:
                known_c["embedded"] = {"artwork": plan.tag_fields["artwork"]}
            folder = Path(container.folder) if container.folder else None
            self._container_fields[key] = await self._metadata(
                container.kind, folder, _present(known_c)
            )
        return {**fields, **plan.fields}

    async def _write_batch(
        self,
        batch: list[tuple[FileRecord, FileRow | None, Analysis, ItemPlan | None, dict[str, Any]]],
    ) -> None:
        container_fields = self._container_fields

        def write(db: Database) -> None:
            writer = CatalogWriter(db, self._library_id, self._containers, self._now)
            for record, row, analysis, plan, fields in batch:
                if row is None:
                    file_id = writer.add_file(record, MEDIA_ROLE[self._kind], analysis)
                else:
                    file_id = row.id
                    writer.update_file(file_id, record, analysis)
                if plan is not None:
                    parent = writer.container(plan.containers, container_fields)
                    writer.upsert_leaf(file_id, plan, parent, fields)

        await self._catalog.write(write)
        self._progress.written = True
        for key in [k for k in self._container_fields if k in self._containers]:
            del self._container_fields[key]  # written: a 100k scan must not keep them all
        release_memory()

    async def _delete(self, file_ids: list[int]) -> None:
        def delete(db: Database) -> None:
            writer = CatalogWriter(db, self._library_id, self._containers, self._now)
            if file_ids:
                writer.delete_files(file_ids)
            writer.prune_empty_containers()

        await self._catalog.write(delete)

    async def _refresh_folders(self, folders: set[str]) -> None:
        """A new or edited nfo or poster beside unchanged media: ask the providers again."""
        if not folders:
            return
        rows = await self._catalog.read(
            lambda db: _items_in_folders_blocking(db, self._library_id, folders)
        )
        updates = []
        for pk, kind, path, metadata_json, title in rows:
            old = json.loads(metadata_json)
            fields = await self._metadata(kind, Path(path) if path else None, {"title": title})
            merged = {**old, **fields}
            if merged != old:
                updates.append((pk, merged.get("title") or title, merged))
        if not updates:
            return

        def write(db: Database) -> None:
            writer = CatalogWriter(db, self._library_id, self._containers, self._now)
            for pk, title, merged in updates:
                writer.update_metadata(pk, title, merged)

        await self._catalog.write(write)
        self._progress.written = True


def _stored_roots_blocking(db: Database, library_id: int) -> list[str]:
    """The library folders the catalog's files are under (the unique index answers it)."""
    rows = db.execute("SELECT DISTINCT root FROM files WHERE library_id = ?", [library_id])
    return [os.fsdecode(root) for (root,) in rows]


def _present(facts: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in facts.items() if value is not None}


def _items_in_folders_blocking(
    db: Database, library_id: int, folders: set[str]
) -> list[tuple[int, str, str, str, str]]:
    """Items whose media file, or whose container folder, is in one of `folders`."""
    result = []
    rows = db.execute(
        "SELECT items.pk, items.kind, files.root, files.relpath, items.folder, items.metadata, "
        "items.title FROM items LEFT JOIN files ON files.id = items.file_id "
        "WHERE items.library_id = ?",
        [library_id],
    )
    for pk, kind, root, relpath, folder, metadata, title in rows:
        if relpath is not None:
            path = os.path.join(os.fsdecode(root), os.fsdecode(relpath))
            if os.path.dirname(path) in folders:
                result.append((pk, kind, path, metadata, title))
        elif folder is not None and os.fsdecode(folder) in folders:
            result.append((pk, kind, os.fsdecode(folder), metadata, title))
    return result
