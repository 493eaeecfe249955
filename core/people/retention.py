"""How long viewing history is kept: `hearth: history_days` (365 by default, 0 keeps it forever).

Finished viewings and resume positions older than that are deleted at start and once a day.
It counts first and writes only when something is due, so a server with nothing old to forget
writes nothing (SD cards wear out). It never touches anything but history and progress.
"""

from __future__ import annotations

import asyncio
import logging

from core.catalog import Catalog
from core.catalog.database import Database
from core.people.watch import stamp

_LOGGER = logging.getLogger("hearth.people")
DAY = 86400.0


def prunable_blocking(db: Database, cutoff: str) -> int:
    return int(
        db.execute(
            "SELECT (SELECT count(*) FROM history WHERE watched_at < ?) + "
            "(SELECT count(*) FROM progress WHERE updated_at < ?)",
            [cutoff, cutoff],
        ).fetchone()[0]
    )


def prune_blocking(db: Database, cutoff: str) -> int:
    history = db.execute("DELETE FROM history WHERE watched_at < ?", [cutoff]).rowcount
    progress = db.execute("DELETE FROM progress WHERE updated_at < ?", [cutoff]).rowcount
    return int(history) + int(progress)


async def prune_history(catalog: Catalog, days: int) -> int:
    """Forget viewings older than `days`; returns how many rows went (0 writes nothing)."""
    if days <= 0:
        return 0
    cutoff = stamp(-days * DAY)
    if not await catalog.read(lambda db: prunable_blocking(db, cutoff)):
        return 0
    removed = await catalog.write(lambda db: prune_blocking(db, cutoff))
    _LOGGER.info("Forgot %d viewing record(s) older than %d days", removed, days)
    return removed


async def keep_history(catalog: Catalog, days: int, every: float = DAY) -> None:
    """The hub's daily task: prune now, then once every `every` seconds, until cancelled."""
    if days <= 0:
        return
    while True:
        await prune_history(catalog, days)
        await asyncio.sleep(every)
