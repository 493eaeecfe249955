"""Scan progress as people and the API see it: counts, rate, ETA and the problems found.

Mutable on purpose: the scanner updates one object in place and the API reads it, which costs
nothing when nobody asks. It never touches the catalog.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

MAX_PROBLEMS = 200


@dataclass
class ScanProgress:
    """One library scan's counters."""

    library_id: int
    library: str
    state: str = "queued"  # queued, walking, probing, writing, done, failed, offline
    seen: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    to_probe: int = 0
    probed: int = 0
    errors: int = 0
    written: bool = False
    message: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    started_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )

    def problem(self, path: str, error: str) -> None:
        """Record a file or folder that could not be read (kept bounded)."""
        self.errors += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"path": path, "error": error})

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def as_dict(self) -> dict[str, Any]:
        """The JSON the API and `hearth scan` show."""
        elapsed = max(self.elapsed, 1e-6)
        rate = self.probed / elapsed if self.probed else self.seen / elapsed
        remaining = max(self.to_probe - self.probed, 0)
        probe_rate = self.probed / elapsed if self.probed else 0.0
        eta = round(remaining / probe_rate, 1) if probe_rate and self.state == "probing" else None
        return {
            "library_id": self.library_id,
            "library": self.library,
            "state": self.state,
            "seen": self.seen,
            "unchanged": self.unchanged,
            "new": self.new,
            "changed": self.changed,
            "moved": self.moved,
            "removed": self.removed,
            "to_probe": self.to_probe,
            "probed": self.probed,
            "errors": self.errors,
            "rate": round(rate, 1),
            "eta_seconds": eta,
            "elapsed_seconds": round(self.elapsed, 2),
            "started_at": self.started_at,
            "message": self.message,
            "problems": self.problems,
        }
