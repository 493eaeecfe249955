"""Keeps the fragment store (fragments.py) in step with the catalog.

At start-up every library is rendered and compared with what is stored (libraries that are gone
lose their rows); after that only libraries named by `LibraryChanged` are. Work goes in batches
of BATCH items by primary key, each one catalog read, so browsing and the API keep their turns
while a big library is rendered. `ready` is true only while nothing is pending: a Browse that
comes in between builds its items from the catalog. A store that cannot be used is logged once
and left alone; browsing then always builds from the catalog, as it did before the store.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable

from core.plugin_api import Catalog, Database, trim_blocking
from plugins.dlna.didl import Filter, item_body
from plugins.dlna.fragments import FragmentStore, Stored
from plugins.dlna.objects import BASE, BY_PK_FROM_SQL, MediaItem, columns_sql, entry_from_row
from plugins.dlna.subtitles import SubtitleNames, with_subtitles

_LOGGER = logging.getLogger(__name__)
BATCH = 500
RETRY_SECONDS = 60.0
EVERY_PROPERTY = Filter("*")
_COLUMNS = columns_sql()


def render_batch_blocking(
    db: Database,
    store: FragmentStore,
    library_id: int,
    after: int,
    subtitle_names: SubtitleNames,
) -> tuple[int | None, int]:
    """Render the next batch of a library's media items after primary key `after`, write what
    changed, and drop stored items in that range that are gone. Returns the last key of a full
    batch (None when the library is done) and how many rows were written or dropped."""
    # NOT INDEXED (BY_PK_FROM_SQL): walk the rowids from `after` in order and stop at BATCH;
    # through the library index every batch would sort the whole library again.
    rows = db.execute(
        f"SELECT {_COLUMNS} {BY_PK_FROM_SQL} WHERE items.library_id = ? "
        "AND items.file_id IS NOT NULL AND items.pk > ? ORDER BY items.pk LIMIT ?",
        [library_id, after, BATCH],
    ).fetchall()
    entries = with_subtitles([entry_from_row(row) for row in rows], subtitle_names)
    fresh: Stored = {}
    for row, entry in zip(rows, entries, strict=True):
        if isinstance(entry, MediaItem):
            try:
                fresh[row[0]] = (row[1], item_body(entry, EVERY_PROPERTY, BASE))
            except Exception:  # one odd item must not keep the rest from being prepared
                _LOGGER.debug("Cannot prepare item %s", row[1], exc_info=True)
    last = rows[-1][0] if len(rows) == BATCH else None
    written = store.update_blocking(library_id, fresh)
    written += store.keep_only_blocking(library_id, after, last, set(fresh))
    return last, written


class Prerenderer:
    """Which libraries wait to be rendered, and the task that renders them."""

    def __init__(
        self,
        store: FragmentStore,
        catalog: Catalog,
        subtitle_names: Callable[[Database], SubtitleNames],
        logger: logging.Logger,
        quiet: Callable[[], Awaitable[None]] | None = None,
        forget: Callable[[], None] = lambda: None,
    ) -> None:
        """`subtitle_names(db)` gives the subtitle files of a (library, root, folder);
        `quiet()` returns when no scan runs (each batch waits for it); `forget()` drops what
        `subtitle_names` kept, once everything is rendered."""
        self.store = store
        self._catalog = catalog
        self._subtitle_names = subtitle_names
        self._logger = logger
        self._quiet = quiet
        self._forget = forget
        self._pending: set[int] = set()
        self._everything = True
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self.written = 0  # rows written or dropped since start (tests and the health page)
        self.on_ready: Callable[[bool], None] = lambda ready: None
        self._failing = False

    @property
    def ready(self) -> bool:
        """Whether every stored item matches the catalog (as of the last `LibraryChanged`)."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def changed(self, library_id: int) -> None:
        """A library changed: its stored items are not to be trusted until rendered again."""
        self._pending.add(library_id)
        if self._ready.is_set():
            self._ready.clear()
            self.on_ready(False)
        self._wake.set()

    async def run(self) -> None:
        """Render whatever is pending, forever. When the store or the catalog fails, that is
        logged once (and its end once), browsing builds from the catalog, and everything is
        rendered again after RETRY_SECONDS."""
        while True:
            try:
                await self._serve()
            except (sqlite3.Error, OSError) as err:
                self._ready.clear()
                self.on_ready(False)
                if not self._failing:
                    self._logger.warning(
                        "The DIDL cache %s cannot be used (%s); TVs' pages are built from the "
                        "catalog until it can",
                        self.store.path,
                        err,
                    )
                self._failing = True
                self._everything = True
                await asyncio.sleep(RETRY_SECONDS)

    async def _serve(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.store.open_blocking)
        self._wake.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._everything:
                self._pending |= await self._catalog.read(self._all_libraries)
                self._everything = False
            rendered = bool(self._pending)
            while self._pending:  # a change during a render queues that library again
                await self._render(self._pending.pop())
            if rendered:
                await asyncio.get_running_loop().run_in_executor(None, self._settle_blocking)
            self._ready.set()
            self.on_ready(True)
            if self._failing:
                self._failing = False
                self._logger.info("The DIDL cache %s works again", self.store.path)

    def _settle_blocking(self) -> None:
        """The job is done: what it kept for itself goes back (the subtitle maps, the store's
        page caches), then the heap pages its batches freed (glibc would keep them for hours)."""
        self._forget()
        self.store.shrink_blocking()
        trim_blocking()

    def _all_libraries(self, db: Database) -> set[int]:
        ids = {row[0] for row in db.execute("SELECT id FROM libraries")}
        self.store.keep_libraries_blocking(ids)
        return ids

    async def _render(self, library_id: int) -> None:
        after: int | None = 0
        while after is not None:
            if self._quiet is not None:
                # Not beside a scan: a 100k-item render interleaved with the start-up rescan
                # left ~30 MB of fragmented heap behind; after it, nearly none. The scan's own
                # LibraryChanged brings the library back here anyway.
                await self._quiet()
            after, written = await self._catalog.read(
                functools.partial(self._batch, library_id, after)
            )
            self.written += written

    def _batch(self, library_id: int, after: int, db: Database) -> tuple[int | None, int]:
        names = self._subtitle_names(db)
        return render_batch_blocking(db, self.store, library_id, after, names)
