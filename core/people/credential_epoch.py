"""Whether anything about sign-in changed in the catalog, checked on every request for pennies.

The catalog's `credential_epoch` row moves (by trigger) whenever a session or device key is
deleted, a password, role or limit changes, a grant comes or goes, or an account is removed —
by this server or by `hearth user` in another process. The principal cache throws its entries
away when the number moved, so revocation does not wait for a timer.

Reading it on each request: one `PRAGMA data_version` on a private read-only connection (it
answers from SQLite's shared memory whether any other connection committed since this one last
looked: no disk read, no lock wait), and only when something was committed, one single-row
SELECT. Both run on the event loop on purpose: measured on the 2-core build box under load,
~10 us when nothing was committed and ~80 us after a commit (the page cache is re-read), against
~400 us for one hop to a catalog reader thread, two of which are what the cache saves. The
connection never waits for a lock (timeout 0): a busy answer means "unknown" and the caller
looks the token up afresh. It never writes.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class CredentialEpoch:
    """The current epoch, or None when it cannot be read right now (then trust no cache)."""

    def __init__(self) -> None:
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._value: int | None = None
        self._opening = threading.Lock()  # two first requests at once open one connection

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def open_blocking(self, catalog_path: Path) -> None:
        with self._opening:
            if self._conn is not None:
                return
            conn = sqlite3.connect(
                catalog_path, timeout=0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only=ON")
            self._conn = conn

    def current(self) -> int | None:
        """Cheap enough for every request: see the module's docstring."""
        conn = self._conn
        if conn is None:
            return None
        try:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version or self._value is None:
                row = conn.execute("SELECT value FROM credential_epoch WHERE id = 1").fetchone()
                self._version, self._value = version, int(row[0])
        except sqlite3.Error:  # busy for an instant, or a catalog from before the migration
            self._version = self._value = None
            return None
        return self._value

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
