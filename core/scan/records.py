"""Walk records packed small: the new files of a big library held as bytes, not objects.

A first scan holds every new file of a library from the walk until it is probed. As objects, a
FileRecord with its path string, three ints and the tuples that pair it with a role cost ~430
bytes in CPython (a 40k-file library: ~17 MB of the main process); packed into one bytes object
each, ~140. Records come back out as ordinary FileRecords, a chunk at a time. The walk child
spills them to a temporary file, which the server reads a part at a time (SpilledRecords).
"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from core.kinds import FileRecord
from core.scan.frames import HEADER, frame

_HEAD = struct.Struct("<HBqqQ")  # root, role, size, mtime_ns, inode
PART = 2048  # pairs per part: a first scan's 100k new files never sit in one buffer


class NewFiles(Protocol):
    """A walk's new files, in memory (PackedRecords) or in a file (SpilledRecords)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[FileRecord, str]]: ...

    def count(self, role: str) -> int:
        """How many pairs have this role."""
        ...

    def parts_blocking(self) -> Iterator[PackedRecords]:
        """The pairs a part at a time, in order (from the disk for a spilled list)."""
        ...

    def close(self) -> None: ...


class PackedRecords:
    """An append-only list of (FileRecord, role) pairs."""

    def __init__(self) -> None:
        self._items: list[bytes] = []
        self._roots: list[Path] = []
        self._root_ids: dict[Path, int] = {}
        self._roles: list[str] = []
        self._role_ids: dict[str, int] = {}
        self._unpackable: dict[int, tuple[FileRecord, str]] = {}  # a stat beyond 64 bits

    def append(self, record: FileRecord, role: str) -> None:
        root = self._root_ids.get(record.root)
        if root is None:
            root = self._root_ids[record.root] = len(self._roots)
            self._roots.append(record.root)
        kind = self._role_ids.get(role)
        if kind is None:
            kind = self._role_ids[role] = len(self._roles)
            self._roles.append(role)
        try:
            head = _HEAD.pack(root, kind, record.size, record.mtime_ns, record.inode)
        except struct.error:  # an mtime past the year 2262, say: kept as it is
            self._unpackable[len(self._items)] = (record, role)
            self._items.append(b"")
            return
        # surrogatepass: any str round-trips, surrogate-escaped (non-UTF-8) names included
        self._items.append(head + record.relpath.encode("utf-8", "surrogatepass"))

    def _empty_copy(self) -> PackedRecords:
        """No pairs, the same roots and roles (so packed bytes mean the same in both)."""
        copy = PackedRecords()
        copy._roots, copy._root_ids = list(self._roots), dict(self._root_ids)
        copy._roles, copy._role_ids = list(self._roles), dict(self._role_ids)
        return copy

    def only(self, role: str) -> PackedRecords:
        """The pairs with this role, in order; the packed bytes are shared, not copied."""
        chosen = self._empty_copy()
        kind = self._role_ids.get(role)
        for index, item in enumerate(self._items):
            if not item:
                if self._unpackable[index][1] == role:
                    chosen._unpackable[len(chosen._items)] = self._unpackable[index]
                    chosen._items.append(item)
            elif _HEAD.unpack_from(item)[1] == kind:
                chosen._items.append(item)
        return chosen

    def parts(self, size: int) -> Iterator[PackedRecords]:
        """Consecutive parts of at most `size` pairs: a big list sent in pieces."""
        for start in range(0, len(self._items), size):
            part = self._empty_copy()
            part._items = self._items[start : start + size]
            part._unpackable = {
                index - start: pair
                for index, pair in self._unpackable.items()
                if start <= index < start + size
            }
            yield part

    def extend(self, other: PackedRecords) -> None:
        """Append another list's pairs, in order (its packed bytes as they are when it has the
        same roots and roles, as the parts of one list have)."""
        if not self._items and not self._roots and not self._roles:
            self._roots, self._root_ids = list(other._roots), dict(other._root_ids)
            self._roles, self._role_ids = list(other._roles), dict(other._role_ids)
        if (self._roots, self._roles) != (other._roots, other._roles):
            for record, role in other:
                self.append(record, role)
            return
        for index, item in enumerate(other._items):
            if not item:
                self._unpackable[len(self._items)] = other._unpackable[index]
            self._items.append(item)

    def count(self, role: str) -> int:
        kind = self._role_ids.get(role)
        unpackable = sum(1 for _, r in self._unpackable.values() if r == role)
        return unpackable + sum(1 for item in self._items if item and item[2] == kind)

    def parts_blocking(self) -> Iterator[PackedRecords]:
        return self.parts(PART)

    def close(self) -> None:
        """Nothing to release: the pairs are in memory."""

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[FileRecord, str]]:
        return self.between(0, len(self._items))

    def between(self, start: int, stop: int) -> Iterator[tuple[FileRecord, str]]:
        """The pairs from index `start` up to (not including) `stop`."""
        for index, item in enumerate(self._items[start:stop], start):
            if not item:
                yield self._unpackable[index]
                continue
            root, kind, size, mtime_ns, inode = _HEAD.unpack_from(item)
            relpath = item[_HEAD.size :].decode("utf-8", "surrogatepass")
            yield FileRecord(self._roots[root], relpath, size, mtime_ns, inode), self._roles[kind]


def spill_blocking(records: PackedRecords, file: IO[bytes]) -> dict[str, int]:
    """Write the pairs to `file` in parts (read back by SpilledRecords); how many of each role."""
    for part in records.parts(PART):
        file.write(frame(part))
    file.flush()
    return {role: records.count(role) for role in records._roles}


class SpilledRecords:
    """Pairs the walk child wrote to a temporary file; read back a part at a time, so the
    server never holds a first scan's 100k new files at once. Owns the file: `close` it."""

    def __init__(self, file: IO[bytes], total: int, counts: dict[str, int]) -> None:
        self._file = file
        self._total = total
        self._counts = counts

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[tuple[FileRecord, str]]:
        for part in self.parts_blocking():
            yield from part

    def count(self, role: str) -> int:
        return self._counts.get(role, 0)

    def parts_blocking(self) -> Iterator[PackedRecords]:
        """Each reading keeps its own place (pread), so two never disturb each other."""
        fd, offset = self._file.fileno(), 0
        while len(header := os.pread(fd, HEADER.size, offset)) == HEADER.size:
            (size,) = HEADER.unpack(header)
            data = os.pread(fd, size, offset + HEADER.size)
            if len(data) < size:
                raise EOFError(f"a spilled part is cut short at byte {offset}")
            offset += HEADER.size + size
            yield pickle.loads(data)

    def close(self) -> None:
        self._file.close()
