"""The files a scan probes, in the order it probes them: the walk's new media files, then the
changed and moved ones with their catalog rows.

A first scan's new files may be in the walk child's temporary file (core.scan.records): they
are read a part at a time in an executor thread as probing needs them, so the server never
holds them all. Never probes or writes anything itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator

from core.kinds import FileRecord
from core.scan.comparison import FileRow
from core.scan.records import NewFiles, PackedRecords

Job = tuple[FileRecord, FileRow | None]  # a file, and the catalog's row unless it is new


class ProbeJobs:
    """Hands out the files to probe a chunk at a time."""

    def __init__(self, new: NewFiles, role: str, known: list[tuple[FileRecord, FileRow]]) -> None:
        """`new`: the walk's new files (those with `role` are probed); `known`: changed and
        moved files with their rows."""
        self.total = new.count(role) + len(known)
        self._parts: Iterator[PackedRecords] | None = new.parts_blocking()
        self._role = role
        self._known: list[tuple[FileRecord, FileRow]] | None = known
        self._ready: deque[Job] = deque()

    async def take(self, count: int) -> list[Job]:
        """The next `count` files (fewer at the end, none when all were handed out)."""
        loop = asyncio.get_running_loop()
        while len(self._ready) < count and self._parts is not None:
            part = await loop.run_in_executor(None, next, self._parts, None)
            if part is None:
                self._parts = None
                self._ready.extend(self._known or [])
                self._known = None
            else:
                self._ready.extend((record, None) for record, role in part if role == self._role)
        return [self._ready.popleft() for _ in range(min(count, len(self._ready)))]
