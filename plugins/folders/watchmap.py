"""The folder watcher's map from inotify watch descriptors to folders, packed into flat arrays.

Why packed: a dict of full paths cost ~177 bytes a folder for the life of the server (5.1 MB for
the 28.8k folders of a 100k-item library: the path strings, the dict and its int keys). Here a
folder is its parent's watch descriptor and its own name, side by side in arrays and one byte
string (~38 bytes a folder: 1.1 MB); its path is rebuilt only when an event names it. A top entry (a
library root, or a folder whose parent went first) holds its whole path as its name.

It never touches the file system or the kernel's watches: the caller adds and removes those.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left

TOP = 0  # the "parent" of an entry whose name is a whole path (the kernel's descriptors are ≥ 1)
_MAX_DEPTH = 4096  # a path is at most 4096 bytes, so no chain of parents is longer


class WatchMap:
    """Watch descriptor -> folder. Entries are kept in descriptor order, which is the order the
    kernel hands them out in, so adding is an append. A dropped entry stays as a tombstone (a
    live folder below it may still need its name) until the tombstones outnumber the living."""

    def __init__(self) -> None:
        self._wds = array("i")  # sorted
        self._parents = array("i")  # the parent folder's descriptor, or TOP
        self._starts = array("I")  # where the name starts in _names
        self._lengths = array("H")  # the name's length in bytes (a whole path is ≤ 4096)
        self._live = bytearray()  # 1 watched, 0 dropped
        self._names = bytearray()
        self._count = 0  # live entries
        self._waste = 0  # bytes of _names no live entry uses

    def __len__(self) -> int:
        return self._count

    def add(self, wd: int, parent: int, name: bytes) -> bool:
        """Record folder `name` inside the folder watched as `parent` (TOP: `name` is a path).
        The kernel gives a folder watched again its old descriptor: then the folder takes its
        new place, the last one seen, unless that place is inside itself (a bind mount looping
        back to a parent): False, and nothing changes."""
        if not self._wds or wd > self._wds[-1]:  # a folder not seen before: the usual case
            self._wds.append(wd)
            self._parents.append(parent)
            self._starts.append(len(self._names))
            self._lengths.append(len(name))
            self._live.append(1)
            self._names += name
            self._count += 1
            return True
        index = self._index(wd)
        if index is None:
            index = self._insert(wd)
        elif self._live[index]:
            if self._parents[index] == parent and self._name_at(index) == name:
                return True  # met again where it was (a walk crossing a folder's creation)
            if self._is_ancestor(wd, parent):
                return False
            self._kill(index)
        self._parents[index] = parent
        self._starts[index] = len(self._names)
        self._lengths[index] = len(name)
        self._names += name
        self._live[index] = 1
        self._count += 1
        self._compact_if_wasteful()
        return True

    def path(self, wd: int) -> bytes | None:
        """The path of a watched folder; None when `wd` is not (or no longer) watched."""
        index = self._index(wd)
        if index is None or not self._live[index]:
            return None
        return self._path_at(index)

    def name(self, wd: int) -> bytes | None:
        """The name of a watched folder (a top entry's whole path)."""
        index = self._index(wd)
        return None if index is None or not self._live[index] else self._name_at(index)

    def drop(self, wd: int) -> bytes | None:
        """Forget one watch (the kernel removed it); returns the path it had, None when it was
        not watched."""
        index = self._index(wd)
        if index is None or not self._live[index]:
            return None
        path = self._path_at(index)
        self._kill(index)
        self._compact_if_wasteful()
        return path

    def child(self, parent: int, name: bytes) -> int | None:
        """The descriptor of the watched folder `name` inside the folder watched as `parent`."""
        names = self._names
        for index, wd in enumerate(self._wds):
            if self._parents[index] == parent and self._live[index]:
                start = self._starts[index]
                if names[start : start + self._lengths[index]] == name:
                    return wd
        return None

    def drop_tree(self, top: int) -> list[int]:
        """Forget a watched folder and every watched folder below it; returns their descriptors
        (the caller removes the kernel's watches)."""
        index = self._index(top)
        if index is None or not self._live[index]:
            return []
        gone = {top}
        self._kill(index)
        found = True
        while found:  # one pass, unless a folder took a new place above its parents' numbers
            found = False
            for index, wd in enumerate(self._wds):
                if self._live[index] and self._parents[index] in gone:
                    gone.add(wd)
                    self._kill(index)
                    found = True
        self._compact_if_wasteful()
        return sorted(gone)

    def _index(self, wd: int) -> int | None:
        index = bisect_left(self._wds, wd)
        return index if index < len(self._wds) and self._wds[index] == wd else None

    def _insert(self, wd: int) -> int:
        """A new (dropped) entry for a descriptor below the last one (they wrapped around)."""
        index = bisect_left(self._wds, wd)
        self._wds.insert(index, wd)
        self._parents.insert(index, TOP)
        self._starts.insert(index, 0)
        self._lengths.insert(index, 0)
        self._live.insert(index, 0)
        return index

    def _name_at(self, index: int) -> bytes:
        start = self._starts[index]
        return bytes(self._names[start : start + self._lengths[index]])

    def _path_at(self, index: int) -> bytes | None:
        """Through dropped parents too: they are kept while anything below them lives."""
        names = [self._name_at(index)]
        for _ in range(_MAX_DEPTH):
            parent = self._parents[index]
            if parent == TOP:
                return os.path.join(*reversed(names))
            found = self._index(parent)
            if found is None:  # cannot happen: compacting makes orphans top entries
                return None
            index = found
            names.append(self._name_at(index))
        return None

    def _is_ancestor(self, wd: int, folder: int) -> bool:
        """Whether the folder watched as `wd` is `folder` or one of its parents."""
        for _ in range(_MAX_DEPTH):
            if folder == wd:
                return True
            if folder == TOP:
                return False
            index = self._index(folder)
            if index is None:
                return False
            folder = self._parents[index]
        return True

    def _kill(self, index: int) -> None:
        self._live[index] = 0
        self._count -= 1
        self._waste += self._lengths[index]

    def _compact_if_wasteful(self) -> None:
        """Drop the tombstones once they outnumber the living (amortised: each compaction
        follows at least as many drops as it keeps entries). A live folder whose parent goes
        keeps its whole path as its name."""
        dead = len(self._wds) - self._count
        if (dead < 64 or dead < self._count) and (
            self._waste < 4096 or self._waste < len(self._names) // 2
        ):
            return
        live = self._live
        wds, parents = array("i"), array("i")
        starts, lengths = array("I"), array("H")
        names = bytearray()
        for index, wd in enumerate(self._wds):
            if not live[index]:
                continue
            parent = self._parents[index]
            parent_index = None if parent == TOP else self._index(parent)
            if parent_index is None or not live[parent_index]:
                name, parent = self._path_at(index) or b"", TOP
            else:
                name = self._name_at(index)
            wds.append(wd)
            parents.append(parent)
            starts.append(len(names))
            lengths.append(len(name))
            names += name
        self._wds, self._parents, self._starts, self._lengths = wds, parents, starts, lengths
        self._names, self._live = names, bytearray(b"\1") * len(wds)
        self._waste = 0
