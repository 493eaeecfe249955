"""The folder watcher's inotify: one instance and one thread for every library's folders.

Why our own: watchfiles (the Rust `notify` crate) built its recursive watch inside its
constructor, on the event loop with the interpreter held: at 100k files that kept every request,
/api/health too, waiting 1-3 s right after the server started, and its runtime cost 6-8 MB.
Here a plain thread adds one watch per folder as it walks (the loop keeps running between
folders), then reads events and hands batches of changed paths to a callback. What it keeps per
folder is packed (plugins.folders.watchmap); the walk streams each listing and keeps the folders
still to look into as 4-byte watch descriptors, so adding 30k watches allocates no 30k-long list.

A folder renamed or moved within the watched folders keeps its watches and those below it (a
rename read in two parts is taken as a move out and a move in). A folder moved out, removed
while it is being watched, or a drive pulled out, only drops watches; a root that is missing is
looked for again every `recheck` seconds. It never reads file contents, never follows a symbolic
link to a folder (a link loop would never end) and never watches a folder the scanner skips
(`is_ignored_directory`).
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import logging
import os
import select
import struct
import threading
from array import array
from collections.abc import Callable
from pathlib import Path

from core.plugin_api import is_ignored_directory
from plugins.folders.watchmap import TOP, WatchMap

_LOGGER = logging.getLogger("hearth.folders")

IN_ATTRIB, IN_CLOSE_WRITE = 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = (
    0x400,
    0x800,
    0x2000,
    0x4000,
    0x8000,
)
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_ISDIR = (
    0x01000000,
    0x02000000,
    0x04000000,
    0x40000000,
)
# Not IN_MODIFY: a movie being copied in would wake us for every write; its close is enough.
MASK = (
    IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_EXCL_UNLINK
)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name
_SKIPPED = {errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ELOOP}
_FULL = {errno.ENOSPC, errno.ENOMEM}  # the watch limit (fs.inotify.max_user_watches)


class Change(enum.IntEnum):
    """What happened to a path (numbered as watchfiles numbered them)."""

    added = 1
    modified = 2
    deleted = 3


Changes = set[tuple[Change, str]]
Report = Callable[[Changes | None], None]  # None: changes may have been missed
LimitReached = Callable[[OSError], None]
Ready = Callable[[int, bool], None]  # the first walk is done: folders watched, limit reached


def _libc() -> ctypes.CDLL:
    # the C library the interpreter already has loaded (find_library would run ldconfig)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.inotify_init1.argtypes = [ctypes.c_int]
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def _error() -> OSError:
    code = ctypes.get_errno()
    return OSError(code, os.strerror(code))


class FolderTree:
    """Watches every folder under some roots. `run_blocking` is a thread's whole life; `stop`
    (from any thread) ends it."""

    def __init__(
        self,
        roots: list[Path],
        report: Report,
        limit_reached: LimitReached,
        recheck: float,
        ready: Ready | None = None,
    ) -> None:
        self.roots = [os.fspath(root) for root in roots]
        self._report = report
        self._limit_reached = limit_reached
        self._recheck = recheck
        self._ready = ready
        self._libc = _libc()
        self._fd = -1
        self._folders = WatchMap()  # watch descriptor -> folder
        self._missing: list[str] = []  # roots that are not folders now
        self._full = False  # the watch limit was reached: said once, no more watches tried
        self._wake_read, self._wake_write = os.pipe()
        self._stopped = threading.Event()

    @property
    def watched(self) -> int:
        """How many folders have a watch."""
        return len(self._folders)

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):  # closed: the thread has ended
            os.write(self._wake_write, b"x")

    def run_blocking(self) -> None:
        """Add the roots' watches, then read events until stopped."""
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise _error()
        try:
            for root in self.roots:
                if not self._add_tree(root):
                    self._missing.append(root)
            if self._ready is not None:
                self._ready(self.watched, self._full)
            self._read_until_stopped()
        finally:
            os.close(self._fd)
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _read_until_stopped(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while not self._stopped.is_set():
            timeout = int(self._recheck * 1000) if self._missing else None
            ready = poller.poll(timeout)
            if self._stopped.is_set():
                return
            if ready and any(fd == self._fd for fd, _ in ready):
                try:
                    data = os.read(self._fd, 64 * 1024)
                except BlockingIOError:
                    data = b""
                changes = self._handle(data)
                if changes is None or changes:
                    self._report(changes)
            if self._missing:
                self._look_for_missing()

    def _look_for_missing(self) -> None:
        """A root that came back (a drive mounted again) is watched and scanned: what is on it
        may have changed while it was away."""
        back = [root for root in self._missing if os.path.isdir(root)]
        for root in back:
            if self._add_tree(root):
                self._missing.remove(root)
                self._report({(Change.added, root)})

    def _add_watch(self, parent: int, name: bytes, path: bytes, flags: int) -> int | None:
        """A watch on the folder `name` in the folder watched as `parent` (TOP: `name` is the
        whole path), or None when it is gone, not a folder, not allowed, or a loop back to one
        of its own parents."""
        if self._full:
            return None
        wd = self._libc.inotify_add_watch(self._fd, path, MASK | flags)
        if wd >= 0:
            return int(wd) if self._folders.add(wd, parent, name) else None
        err = _error()
        if err.errno in _FULL:
            self._full = True
            self._limit_reached(err)
        elif err.errno not in _SKIPPED:
            _LOGGER.debug("Not watching %s: %s", os.fsdecode(path), err)
        return None

    def _add_tree(self, top: str) -> bool:
        """Watch the root `top` and every folder under it. False when `top` could not be
        watched."""
        path = os.fsencode(top)
        wd = self._add_watch(TOP, path, path, IN_ONLYDIR)
        if wd is None:
            return False
        self._add_below(wd)
        return True

    def _add_below(self, top: int) -> None:
        """Watch every folder under the folder watched as `top`, one at a time (events for the
        folders already watched queue in the kernel meanwhile). Each listing is read entry by
        entry; the folders still to list wait as descriptors beside their parent's path, one
        level of the stack for each level of folders."""
        path = self._folders.path(top)
        if path is None:
            return
        stack = [(os.path.dirname(path), array("i", [top]))]
        while stack and not self._stopped.is_set():
            parent, pending = stack[-1]
            if not pending:
                stack.pop()
                continue
            wd = pending.pop()
            name = self._folders.name(wd)
            if name is None:  # its watch is gone
                continue
            folder = os.path.join(parent, name)
            below = array("i")
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False) and not is_ignored_directory(
                            os.fsdecode(entry.name)
                        ):
                            flags = IN_ONLYDIR | IN_DONT_FOLLOW
                            child = self._add_watch(wd, entry.name, entry.path, flags)
                            if child is not None:
                                below.append(child)
            except OSError:  # removed while we walked, unreadable: nothing (more) to watch there
                pass
            if below:
                stack.append((folder, below))

    def _forget(self, wd: int) -> None:
        """Drop the watches on a folder moved away and everything under it (the kernel would keep
        them, now pointing at the new place)."""
        for gone in self._folders.drop_tree(wd):
            self._libc.inotify_rm_watch(self._fd, gone)

    def _handle(self, data: bytes) -> Changes | None:
        """The changed paths in a read's worth of events; None after the kernel's queue
        overflowed (what happened meanwhile is unknown)."""
        changes: Changes = set()
        overflowed = False
        moving: dict[int, int] = {}  # a rename's cookie -> the watched folder it moves
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, cookie, size = _EVENT.unpack_from(data, offset)
            raw = data[offset + _EVENT.size : offset + _EVENT.size + size].rstrip(b"\0")
            offset += _EVENT.size + size
            if mask & IN_Q_OVERFLOW:
                overflowed = True
                continue
            if mask & IN_IGNORED:  # removed, unmounted, or dropped by _forget
                gone = self._folders.drop(wd)
                root = None if gone is None else os.fsdecode(gone)
                if root in self.roots and root not in self._missing:
                    self._missing.append(root)  # watched again once it is back
                continue
            folder = self._folders.path(wd)
            if folder is None or not raw:  # a watch dropped meanwhile; the folder itself
                continue
            changes.add(_change(mask, os.fsdecode(os.path.join(folder, raw))))
            if not mask & IN_ISDIR:
                continue
            if mask & IN_MOVED_FROM:
                moved = self._folders.child(wd, raw)
                if moved is not None:
                    moving[cookie] = moved
            elif mask & (IN_CREATE | IN_MOVED_TO) and not is_ignored_directory(os.fsdecode(raw)):
                # moved within the watched folders: its watches (and those below) stay, only
                # its place changes, so nothing that happens in it meanwhile is missed
                moved = moving.pop(cookie, None) if mask & IN_MOVED_TO else None
                if moved is None or not self._folders.add(moved, wd, raw):
                    flags = IN_ONLYDIR | IN_DONT_FOLLOW
                    child = self._add_watch(wd, raw, os.path.join(folder, raw), flags)
                    if child is not None:
                        self._add_below(child)
                        # moved out and back under another cookie: watched here after all
                        moving = {c: w for c, w in moving.items() if w != child}
        for moved in moving.values():  # moved out, or to a folder we do not watch
            self._forget(moved)
        if overflowed:  # folders made while events were lost have no watch: walk again
            for root in self.roots:
                if root not in self._missing:
                    self._add_tree(root)  # the folders watched already keep their watches
        return None if overflowed else changes


def _change(mask: int, path: str) -> tuple[Change, str]:
    if mask & (IN_CREATE | IN_MOVED_TO):
        return Change.added, path
    if mask & (IN_DELETE | IN_MOVED_FROM):
        return Change.deleted, path
    return Change.modified, path
