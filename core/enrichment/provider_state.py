"""What the admin page shows of each online provider, and the words the ledger uses.

`ProviderState` is one provider's worker state in the enrichment queue (working, backing off,
counts, the last error); `purpose_of` names what a picture is for ("poster for a movie"). No
catalog, no network.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

IMAGE_WORDS = {"poster": "poster", "fanart": "backdrop", "thumb": "still", "banner": "banner"}


def purpose_of(art_kind: str, item_kind: str) -> str:
    """'poster for a movie', 'cover for an album': what the ledger shows for a picture."""
    word = "cover" if item_kind == "album" and art_kind == "poster" else IMAGE_WORDS[art_kind]
    article = "an" if item_kind[0] in "aeiou" else "a"
    return f"{word} for {article} {item_kind}"


class ProviderState:
    """One provider's worker and what the admin page shows of it."""

    def __init__(self) -> None:
        self.dirty: set[int | None] = set()
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.state = "idle"  # idle, waiting (for scans), working, backing off
        self.failures = 0
        self.retry_at: float | None = None
        self.last_error: str | None = None
        self.counts = {"matched": 0, "not_found": 0, "failed": 0, "images": 0}
        self.settled = asyncio.Event()  # set while it has nothing to do right now
        self.quiet = asyncio.Event()  # ... and is not backing off either

    @property
    def busy(self) -> bool:
        waiting = bool(self.dirty) and self.state != "backing off"
        return waiting or self.state in ("working", "waiting")

    def as_dict(self) -> dict[str, Any]:
        retry = self.retry_at
        return {
            "state": self.state,
            **self.counts,
            "last_error": self.last_error,
            "retry_in": round(max(0.0, retry - time.time()), 1) if retry else None,
        }
