"""Where library files are, and opening them so that only library files leave the box.

Every route that sends a file's bytes, or hands a file to ffmpeg, PyAV or Pillow, opens it with
`LibraryRoots.open_blocking`: the file is opened first (without blocking on a FIFO; anything
but a regular file is refused), then the real path of the open descriptor (/proc/self/fd) must
lie inside a configured library folder. Checking what was opened, not the name before opening,
leaves no window in which a link could be swapped between the check and the read. A file
outside answers exactly as a missing one (OutsideLibraryError is a FileNotFoundError), and is
logged once per path, at WARNING: somebody asked for it.

Before following a link, the scanner and the metadata finders ask `refusal_blocking`, by the
library's `follow_symlinks`: `inside` (the default) follows a link whose target is inside some
library folder (its own or another library's), `false` follows none, and `all` follows every
link: the owner's choice for folders only they write to, so routes then accept any file reached
from that library's folders. A link not followed is logged once per path, at INFO.

The roots are a snapshot of the registered sources, made without I/O; real paths are worked out
on first use, in the caller's executor thread. Never writes, never lists a folder.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.kinds import LibrarySource

FOLLOW_SYMLINKS = ("false", "inside", "all")
"""The values of a library's `follow_symlinks`."""

DEFAULT_FOLLOW = "inside"

_LOGGER = logging.getLogger("hearth.library")
_REMEMBERED = 4096
_said: OrderedDict[tuple[str, str], None] = OrderedDict()
_said_lock = threading.Lock()


class OutsideLibraryError(FileNotFoundError):
    """A file whose real path lies outside every library folder: answered as a missing file."""

    def __init__(self, path: str, real: str) -> None:
        super().__init__(errno.ENOENT, f"outside every library folder (it is {real})", path)
        self.real = real


@dataclass(frozen=True, slots=True)
class LibraryRoot:
    """One folder of one library, as its source names it, and that library's link rule."""

    path: str
    follow: str = DEFAULT_FOLLOW


class LibraryFile:
    """A library file opened and checked; read it through `file`, or in-process readers that
    want a name through `proc_path`. Closing it (or leaving its `with`) closes the descriptor."""

    def __init__(self, file: io.FileIO, status: os.stat_result, real_path: str) -> None:
        self.file = file
        self.stat = status
        self.real_path = real_path

    @property
    def proc_path(self) -> str:
        """A name for this open file that no later rename or link can redirect (this process)."""
        return f"/proc/self/fd/{self.file.fileno()}"

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> LibraryFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class LibraryRoots:
    """Every configured library folder at one moment, with each library's link rule."""

    def __init__(self, roots: Iterable[LibraryRoot]) -> None:
        # Longest first: with nested libraries, the innermost one's rule applies.
        self._roots = tuple(sorted(roots, key=lambda r: len(r.path), reverse=True))
        self._reals: tuple[str, ...] | None = None

    @classmethod
    def of(cls, sources: Iterable[LibrarySource]) -> LibraryRoots:
        """The roots of these sources (the hub's registered ones); no I/O."""
        return cls(
            LibraryRoot(os.path.normpath(os.fspath(path)), source.library.follow_symlinks)
            for source in sources
            for path in source.roots()
        )

    @property
    def roots(self) -> tuple[LibraryRoot, ...]:
        return self._roots

    def _reals_blocking(self) -> tuple[str, ...]:
        if self._reals is None:
            self._reals = tuple(os.path.realpath(root.path) for root in self._roots)
        return self._reals

    def inside_blocking(self, real: str) -> bool:
        """Whether a real path (no links left in it) lies in one of the library folders."""
        # A link-free path that runs through a folder as configured proves that folder is a
        # real one, so resolving the configured folders (~35 us each) waits for a miss.
        if any(_within(real, root.path) for root in self._roots):
            return True
        return any(_within(real, root) for root in self._reals_blocking())

    def _root_of_blocking(self, path: str) -> tuple[LibraryRoot, str] | None:
        """The library folder `path` is spelled under, and that folder's real path."""
        path = os.path.normpath(path)
        for root, real in zip(self._roots, self._reals_blocking(), strict=True):
            if _within(path, root.path):
                return root, os.path.join(real, os.path.relpath(path, root.path))
            if _within(path, real):
                return root, path
        return None

    def open_blocking(self, path: str | os.PathLike[str]) -> LibraryFile:
        """Open a library file for reading, then make sure it is one (see the module's text).

        FileNotFoundError (OutsideLibraryError for a file outside the folders) when it is
        missing, not a regular file, or outside; PermissionError when it cannot be read.
        """
        name = os.fspath(path)
        # Looked at before opening too: opening is itself an act for some files (a link to
        # /dev/watchdog arms it, a FIFO wakes its writer), so what is plainly outside is never
        # opened. The check after opening is the one that counts (no race).
        before = os.path.realpath(name)
        if not self._allowed_blocking(name, before):
            say_once(
                logging.WARNING,
                "refused",
                name,
                "Refused to open %s: it leads to %s, outside every library folder",
                before,
            )
            raise OutsideLibraryError(name, before)
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):  # a folder, FIFO or device is never served
                raise FileNotFoundError(errno.ENOENT, "not a regular file", name)
            real = self.check_opened_blocking(name, fd)
            file = io.FileIO(fd, "rb", closefd=True)
        except BaseException:
            os.close(fd)
            raise
        return LibraryFile(file, status, real)

    def real_path_blocking(self, path: str | os.PathLike[str]) -> str:
        """The checked real path of a library file, for a reader in another process (ffmpeg):
        it names the file itself, so a link changed afterwards cannot redirect the reader."""
        with self.open_blocking(path) as opened:
            return opened.real_path

    def check_opened_blocking(self, path: str, fd: int, level: int = logging.WARNING) -> str:
        """The real path of the file open as `fd` (opened by the name `path`); raises
        OutsideLibraryError, logged once per path at `level`, unless it is a library file."""
        real = _real_path_of(fd, path)
        if self._allowed_blocking(path, real):
            return real
        say_once(
            level,
            "refused",
            path,
            "Refused to open %s: it leads to %s, outside every library folder",
            real,
        )
        raise OutsideLibraryError(path, real)

    def _allowed_blocking(self, path: str, real: str) -> bool:
        """Whether a file named `path`, really at `real`, may be read: it is inside a library
        folder, or it was reached from a library whose owner follows every link."""
        if self.inside_blocking(real):
            return True
        found = self._root_of_blocking(path)
        return found is not None and found[0].follow == "all"

    def refusal_blocking(self, path: str | os.PathLike[str]) -> str | None:
        """Why a scan must not follow the way to `path` (a link, or a folder reached through
        one), or None when it may; the reason is logged once per path at INFO."""
        name = os.path.normpath(os.fspath(path))
        real = os.path.realpath(name)
        found = self._root_of_blocking(name)
        follow = DEFAULT_FOLLOW
        if found is not None:
            if real == os.path.normpath(found[1]):
                return None  # no link between its library folder and it
            follow = found[0].follow
        if follow == "all" or (follow == "inside" and self.inside_blocking(real)):
            return None
        if follow == "false":
            reason = "it is a symbolic link and follow_symlinks is false"
        else:
            reason = f"it links to {real}, outside every library folder"
        say_once(logging.INFO, "skipped", name, "Skipping %s: %s", reason)
        return reason


def _within(path: str, folder: str) -> bool:
    if folder == os.sep:
        return path.startswith(os.sep)
    return path == folder or path.startswith(folder + os.sep)


def _real_path_of(fd: int, name: str) -> str:
    """Where the open file really is: the kernel's own answer through /proc, else (no /proc)
    the resolved name, trusted only if it is still the very file that is open."""
    with contextlib.suppress(OSError):
        real = os.readlink(f"/proc/self/fd/{fd}")
        if real.startswith(os.sep):
            return real.removesuffix(" (deleted)")
    real = os.path.realpath(name)
    try:
        named, opened = os.stat(real), os.fstat(fd)
    except OSError as err:
        raise OutsideLibraryError(name, real) from err
    if (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino):
        raise OutsideLibraryError(name, real)
    return real


def say_once(level: int, what: str, path: str, message: str, *args: object) -> None:
    """Log about a path once (bounded memory): a TV retries, a rescan walks the same links.
    The record carries `once` = (what, path): the scan's walk child sends it to the server,
    which says it through here again (once for the server, not once per walk)."""
    key = (what, path)
    with _said_lock:
        if key in _said:
            _said.move_to_end(key)
            return
        _said[key] = None
        if len(_said) > _REMEMBERED:
            _said.popitem(last=False)
    _LOGGER.log(level, message, path, *args, extra={"once": (what, path)})
