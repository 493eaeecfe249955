"""The egress ledger: every outbound attempt a plugin made, allowed or refused — the owner's proof.

Rows are kept in memory for a moment and written together (coalesced, but within about a
second), so a plugin fetching twenty posters costs one transaction on the SD card, not twenty.
The table is kept to the newest `MAX_ROWS` rows. It records the host, never the path or query
string (those can carry API keys or what someone searched for). Nothing is written when no
plugin reaches out: with the default configuration the ledger stays empty and idle means zero
writes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from core.catalog import Catalog
from core.catalog.database import Database
from core.people.accounts import now_text

_LOGGER = logging.getLogger("hearth.egress")
FLUSH_DELAY = 0.5
MAX_ROWS = 10_000
_COLUMNS = ("at", "plugin", "host", "purpose", "allowed", "bytes_in", "bytes_out", "detail")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One attempt: who, where, why, whether it was let through, and what it cost."""

    at: str
    plugin: str
    host: str
    purpose: str
    allowed: bool
    bytes_in: int = 0
    bytes_out: int = 0
    detail: str | None = None


def insert_entries_blocking(db: Database, entries: list[LedgerEntry]) -> None:
    """Append rows in one transaction and drop the oldest beyond `MAX_ROWS`."""
    db.conn.executemany(
        f"INSERT INTO egress_ledger ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                e.at,
                e.plugin,
                e.host[:255],
                e.purpose[:500],
                int(e.allowed),
                e.bytes_in,
                e.bytes_out,
                e.detail,
            )
            for e in entries
        ],
    )
    db.execute(
        "DELETE FROM egress_ledger WHERE id <= (SELECT max(id) FROM egress_ledger) - ?",
        [MAX_ROWS],
    )


def ledger_rows_blocking(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """The newest rows first, as the privacy report shows them."""
    rows = db.execute(
        f"SELECT id, {', '.join(_COLUMNS)} FROM egress_ledger ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    entries = [dict(zip(("id", *_COLUMNS), row, strict=True)) for row in rows]
    for entry in entries:
        entry["allowed"] = bool(entry["allowed"])
    return entries


def ledger_count_blocking(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM egress_ledger").fetchone()[0])


class EgressLedger:
    """Collects entries and writes them shortly after, in one transaction per burst."""

    def __init__(self, delay: float = FLUSH_DELAY) -> None:
        self.delay = delay
        self._catalog: Catalog | None = None
        self._pending: list[LedgerEntry] = []
        self._task: asyncio.Task[None] | None = None

    def open(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def record(
        self,
        plugin: str,
        host: str,
        purpose: str,
        allowed: bool,
        bytes_in: int = 0,
        bytes_out: int = 0,
        detail: str | None = None,
    ) -> None:
        """Note an attempt; it reaches the catalog within `delay` seconds."""
        entry = LedgerEntry(now_text(), plugin, host, purpose, allowed, bytes_in, bytes_out, detail)
        self._pending.append(entry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._flush_soon(), name="egress-ledger"
            )

    async def _flush_soon(self) -> None:
        while self._pending:  # rows recorded during a write go in the next round
            await asyncio.sleep(self.delay)
            try:
                await self.flush()
            except Exception:  # the catalog is failing: keep serving, say so once per burst
                _LOGGER.exception("Could not write the egress ledger")
                return

    async def flush(self) -> None:
        """Write what is pending now (the privacy report and stop call this)."""
        entries, self._pending = self._pending, []
        if not entries:
            return
        if self._catalog is None:
            self._pending = entries + self._pending
            return
        await self._catalog.write(lambda db: insert_entries_blocking(db, entries))

    async def close(self) -> None:
        """Stop the timer and write everything still pending."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.flush()
        self._catalog = None
