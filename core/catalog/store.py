"""The catalog store: one SQLite file under the data folder, behind a small async facade.

A sqlite3 connection belongs to its thread, so all writes go through one writer thread (one
writer is also what SQLite wants) and reads through a small pool of reader threads with their
own connections. WAL lets readers run during a scan's write batches. Opening an up-to-date
database writes nothing. A full disk is a DiskFullError, never a half-written change. It never
knows what the tables mean beyond the migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from core.catalog.database import Database
from core.catalog.migrations import Migration, available, migrate_blocking
from core.catalog.sort_keys import fold
from core.errors import CatalogError, DiskFullError
from core.people.ratings import rank

_LOGGER = logging.getLogger("hearth.catalog")
T = TypeVar("T")
DB_FILE = "catalog.db"
# SQLite keeps up to 2 MiB of pages per connection by default; readers answer pages of a
# library and get by with half (the kernel's file cache holds the rest of the file anyway).
READER_CACHE_KIB = 1024


def _connect_blocking(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":  # setting it again on a WAL file would be harmless, but reading is free
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")  # safe under WAL; far fewer fsyncs on an SD card
    conn.create_function("rating_rank", 1, rank, deterministic=True)  # parental limits in SQL
    # migration 0009 re-folds sort keys written before accents were folded
    conn.create_function("fold_sort_key", 1, fold, deterministic=True)
    return conn


class Catalog:
    """Async access to the catalog database; `write` runs in one thread, `read` in others."""

    def __init__(self, path: Path, readers: int = 2) -> None:
        self.path = path
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="catalog-writer")
        self._reader_pool = ThreadPoolExecutor(readers, thread_name_prefix="catalog-reader")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer: Database | None = None
        self.disk_full = False  # the last write failed for want of space
        self._space_listeners: list[Callable[[], None]] = []

    @classmethod
    async def open(cls, data_dir: Path, migrations: list[Migration] | None = None) -> Catalog:
        """Open (creating when missing) and migrate; raises CatalogError with the reason."""
        catalog = cls(data_dir / DB_FILE)
        try:
            applied = await asyncio.get_running_loop().run_in_executor(
                catalog._writer_pool, catalog._open_blocking, migrations
            )
        except (sqlite3.Error, OSError) as err:
            await catalog.close()
            raise CatalogError(f"cannot open the catalog {catalog.path}: {err}") from err
        except CatalogError:
            await catalog.close()
            raise
        if applied:
            _LOGGER.info("Catalog %s migrated to schema %d", catalog.path, applied[-1])
        return catalog

    def _open_blocking(self, migrations: list[Migration] | None) -> list[int]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # made private before SQLite makes it (0644 less the umask): its -wal and -shm files
        # take this file's mode, whichever process (server or `hearth user`) creates them
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = _connect_blocking(self.path)
        with self._lock:
            self._connections.append(conn)
        self._writer = Database(conn)
        return migrate_blocking(conn, available() if migrations is None else migrations)

    def _reader_blocking(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = _connect_blocking(self.path)
            conn.execute("PRAGMA query_only=ON")
            conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
            with self._lock:
                self._connections.append(conn)
            db = Database(conn)
            self._local.db = db
        return db

    async def read(self, work: Callable[[Database], T]) -> T:
        """Run `work` with a read-only connection in a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, lambda: work(self._reader_blocking()))

    async def write(self, work: Callable[[Database], T]) -> T:
        """Run `work` in the writer thread inside one transaction (committed on success).

        A full disk raises DiskFullError with the whole transaction rolled back, so every row
        written before stays as it was; the first write that succeeds afterwards tells the
        `on_space_returned` listeners (a scan stopped by the full disk resumes)."""
        if self._writer is None:
            raise CatalogError("the catalog is closed")
        db = self._writer

        def run() -> T:
            try:
                with db.conn:  # BEGIN ... COMMIT, or ROLLBACK on error
                    db.conn.execute("BEGIN IMMEDIATE")
                    return work(db)
            finally:
                if db.conn.in_transaction:  # a COMMIT that failed must not hold the writer
                    with contextlib.suppress(sqlite3.Error):
                        db.conn.rollback()

        try:
            result = await asyncio.get_running_loop().run_in_executor(self._writer_pool, run)
        except (sqlite3.Error, OSError) as err:
            if not DiskFullError.describes(err):
                raise
            self._full(err)
            raise DiskFullError(f"no space left for the catalog {self.path}: {err}") from err
        if self.disk_full:
            self._space_returned()
        return result

    async def release_memory(self) -> None:
        """Let every connection drop the pages a scan left in its cache (the writer's ~2 MiB
        and each reader's ~1 MiB back; read again from the kernel's file cache when needed)."""
        if self._writer is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer_pool, self._shrink_blocking)

    def _shrink_blocking(self) -> None:
        # A reader's connection is shrunk from this thread: SQLite serializes calls on one
        # connection, and shrink_memory frees only pages no statement holds.
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.execute("PRAGMA shrink_memory")

    def on_space_returned(self, listener: Callable[[], None]) -> None:
        """Call `listener` when a write succeeds after one failed for want of space."""
        self._space_listeners.append(listener)

    def _full(self, err: BaseException) -> None:
        if not self.disk_full:  # once per episode, not once per refused write
            _LOGGER.warning(
                "The disk holding %s is full (%s): changes are refused until space is freed",
                self.path,
                err,
            )
        self.disk_full = True

    def _space_returned(self) -> None:
        self.disk_full = False
        _LOGGER.info("The catalog %s can be written again", self.path)
        for listener in self._space_listeners:
            listener()

    async def get_setting(self, key: str) -> str | None:
        """A value from the core's settings table."""
        rows = await self.read(
            lambda db: db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
        )
        return str(rows[0][0]) if rows else None

    async def ensure_setting(self, key: str, make: Callable[[], str]) -> str:
        """Read a setting, writing `make()` only the first time (a stable server id)."""
        value = await self.get_setting(key)
        if value is not None:
            return value
        new = make()

        def insert(db: Database) -> str:
            db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", [key, new])
            row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
            return str(row[0])

        return await self.write(insert)

    async def close(self) -> None:
        """Close every connection once the work already asked for is done; safe to call twice.
        The threads are waited for off the loop: a write still running (a scan's batch) must
        not stop the loop from serving the rest of a stop, and a caller may bound the wait."""
        self._writer = None
        await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
