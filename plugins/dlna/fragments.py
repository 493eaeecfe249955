"""DIDL-Lite made ahead of time: every media item's XML for the Filter `*`, kept on disk.

Why: a TV pages through a folder 100 objects at a time, and building those objects from the
catalog (parsing each file's probe, choosing its DLNA profile, escaping) cost ~3 ms a page in
Python — more than MiniDLNA takes for the whole request. Like MiniDLNA, which works out each
file's DLNA profile when it scans, the XML is made when a library changes, so a Browse only
looks it up by primary key and fills in the two parts that depend on the request: the start tag
(where the item is listed) and the base URL (BASE in the stored body). A Filter list (Home
Assistant's, a Sony's) gets the same body with what it did not ask for cut out (didl.py), which
is what building the item for that list gives.

The store is a cache in the plugin's own data folder, never the catalog: deleting it loses
nothing, and a damaged file is replaced. After start-up and after each `LibraryChanged` the
libraries concerned are rendered again in small batches off the event loop and only what
differs is written, so a restart or a change that touches nothing writes nothing. Until every
pending library is done the store says it is not `ready`, and Browse builds items from the
catalog as before: a stored body is only ever served when it matches the catalog. Bodies say
nothing the TVs could not read from the catalog through Browse, and visibility is still applied
by the catalog query that picks a page's items.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS fragments (
    pk          INTEGER PRIMARY KEY,
    item_id     TEXT NOT NULL,
    library_id  INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fragments_library ON fragments (library_id, pk);
"""
Stored = dict[int, tuple[str, str]]  # pk -> (item id, body)
CACHE_KIB = 256


class FragmentStore:
    """Item bodies by catalog primary key, one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        # every connection with the lock its thread holds while using it: close() takes each
        # lock, so a connection is never closed under a statement running in another thread
        # (that crashed the process: a prerender batch still running at teardown)
        self._connections: list[tuple[sqlite3.Connection, threading.Lock]] = []
        self._generation = 0  # bumped when the file is replaced: threads reconnect

    def _db(self) -> tuple[sqlite3.Connection, threading.Lock]:
        held: tuple[int, sqlite3.Connection, threading.Lock] | None = getattr(
            self._local, "db", None
        )
        if held is not None and held[0] == self._generation:
            return held[1], held[2]
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last commit is harmless
        # lookups are by primary key, a page's worth at a time: SQLite's default 2 MiB of page
        # cache per thread's connection bought nothing but resident memory on a Pi
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        use = threading.Lock()
        with self._lock:
            self._connections.append((db, use))
        self._local.db = (self._generation, db, use)
        return db, use

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, held so that close() waits for what runs on it."""
        db, use = self._db()
        with use:
            yield db

    def open_blocking(self) -> None:
        """Create the table, replacing a file SQLite cannot read (it only held a cache)."""
        try:
            with self._use() as db:
                db.executescript(_SCHEMA)
                db.execute("SELECT count(*) FROM fragments WHERE pk = 0").fetchone()
        except sqlite3.DatabaseError as err:
            _LOGGER.warning("DIDL cache %s is unreadable (%s); starting a new one", self.path, err)
            self.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()
            with self._use() as db:
                db.executescript(_SCHEMA)

    def lookup_blocking(self, pks: Sequence[int]) -> Stored:
        """Stored bodies of these items; an unreadable store answers nothing (Browse then builds
        every item itself)."""
        if not pks:
            return {}
        marks = ",".join("?" * len(pks))
        try:
            with self._use() as db:
                rows = db.execute(
                    f"SELECT pk, item_id, body FROM fragments WHERE pk IN ({marks})", list(pks)
                )
                found = {pk: (item_id, body) for pk, item_id, body in rows}
        except sqlite3.Error as err:
            _LOGGER.debug("DIDL cache lookup failed: %s", err)
            return {}
        return found

    def update_blocking(self, library_id: int, fresh: Stored) -> int:
        """Write the bodies that differ from the stored ones; how many were written."""
        if not fresh:
            return 0
        stored = self.lookup_blocking(list(fresh))
        changed = [
            (pk, item_id, library_id, body)
            for pk, (item_id, body) in fresh.items()
            if stored.get(pk) != (item_id, body)
        ]
        if changed:
            with self._use() as db, _transaction(db):
                db.executemany(
                    "INSERT OR REPLACE INTO fragments (pk, item_id, library_id, body) "
                    "VALUES (?, ?, ?, ?)",
                    changed,
                )
        return len(changed)

    def keep_only_blocking(
        self, library_id: int, after: int, last: int | None, pks: set[int]
    ) -> int:
        """Drop a library's bodies with keys in (after, last] (no upper end: None) that are not
        in `pks`: the items gone from that range. How many were dropped."""
        with self._use() as db:
            gone = [
                (pk,)
                for (pk,) in db.execute(
                    "SELECT pk FROM fragments WHERE library_id = ? AND pk > ? AND pk <= ?",
                    [library_id, after, 2**63 - 1 if last is None else last],
                )
                if pk not in pks
            ]
            if gone:
                with _transaction(db):
                    db.executemany("DELETE FROM fragments WHERE pk = ?", gone)
        return len(gone)

    def keep_libraries_blocking(self, library_ids: Iterable[int]) -> None:
        """Drop the bodies of libraries that no longer exist."""
        ids = list(library_ids)
        marks = ",".join("?" * len(ids)) or "NULL"
        with self._use() as db:
            if db.execute(
                f"SELECT 1 FROM fragments WHERE library_id NOT IN ({marks}) LIMIT 1", ids
            ).fetchone():
                with _transaction(db):
                    db.execute(f"DELETE FROM fragments WHERE library_id NOT IN ({marks})", ids)

    def shrink_blocking(self) -> None:
        """Let every thread's connection drop its cached pages (a whole library was just
        compared and written: read again from the kernel's file cache when next needed)."""
        with self._lock:
            connections = list(self._connections)
        for db, use in connections:
            with use, contextlib.suppress(sqlite3.Error):
                db.execute("PRAGMA shrink_memory")

    def close(self) -> None:
        """Close every thread's connection (threads that ask again reconnect)."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._generation += 1
        for db, use in connections:
            with use, contextlib.suppress(sqlite3.Error):
                db.close()


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
