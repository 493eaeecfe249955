"""Finding an item's .nfo where Kodi looks for it, reading it within a size limit, and warning
once about a file that cannot be used.

A scan asks about every file again on every rescan; a broken nfo is logged once (per content:
an edited file is judged afresh) so the log stays quiet in the steady state. Reads only the nfo
files named below, never more than `MAX_NFO_BYTES` of one, and only library files: an nfo that
is a link leading out of the library folders is checked once opened and treated as absent (the
scan's library roots decide, as for every link). Never writes; never raises for a bad file,
only returns None, because a scanner must go on to the next item.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from core.plugin_api import MetadataRequest
from plugins.nfo.document import NfoError
from plugins.nfo.parser import ROOTS, parse_nfo

MAX_NFO_BYTES = 1024 * 1024
"""Real nfo files are a few kilobytes; anything over a mebibyte is not an nfo worth parsing."""

_REMEMBERED_PROBLEMS = 4096


def nfo_candidates(item_kind: str, path: Path) -> list[Path]:
    """The files Kodi reads for this item, most specific first. `path` is the media file for a
    movie, video or episode, and the folder for a show, season, album or artist (a track inside
    the folder is accepted too)."""
    if item_kind in ("movie", "video", "episode"):
        beside = [path.with_suffix(".nfo"), path.with_suffix(".NFO")]
        return [*beside, path.parent / "movie.nfo"] if item_kind == "movie" else beside
    folder = path if path.is_dir() else path.parent
    names = {"show": "tvshow.nfo", "season": "season.nfo", "album": "album.nfo"}
    return [folder / names.get(item_kind, "artist.nfo")]


class NfoReader:
    """Looks up the nfo of a requested item; shared by the executor's threads."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._warned: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self._lock = threading.Lock()

    def lookup_blocking(self, request: MetadataRequest) -> dict[str, Any] | None:
        """The fields of the first usable nfo for the item, or None if there is none."""
        if request.path is None or request.item_kind not in ROOTS:
            return None
        for candidate in nfo_candidates(request.item_kind, request.path):
            try:
                fields = self._read_blocking(candidate, request)
            except FileNotFoundError:
                continue
            if fields is not None:
                return fields or None
        return None

    def _read_blocking(self, file: Path, request: MetadataRequest) -> dict[str, Any] | None:
        """Fields of one nfo; None (after a warning) if it cannot be used."""
        roots = request.roots
        try:
            if roots is not None and file.is_symlink() and roots.refusal_blocking(file):
                raise FileNotFoundError(file)  # a link the library does not follow
            if not stat.S_ISREG(file.stat().st_mode):  # before open: a FIFO would block it
                raise NfoError("is not a regular file")
            with file.open("rb") as handle:
                if roots is not None:  # checked again once open: a link swapped meanwhile
                    roots.check_opened_blocking(str(file), handle.fileno(), logging.INFO)
                details = os.fstat(handle.fileno())
                if details.st_size > MAX_NFO_BYTES:
                    raise NfoError(_too_big(details.st_size))
                data = handle.read(MAX_NFO_BYTES + 1)  # the file may have grown since fstat
            if len(data) > MAX_NFO_BYTES:
                raise NfoError(_too_big(len(data)))
            return parse_nfo(data, request.item_kind, request.known)
        except FileNotFoundError:
            raise
        except NfoError as err:
            self._warn_once(file, str(err))
        except OSError as err:
            self._warn_once(file, f"cannot be read ({err.strerror or err})")
        return None

    def _warn_once(self, file: Path, problem: str) -> None:
        try:
            details = file.stat()
            key = (str(file), details.st_mtime_ns, details.st_size)
        except OSError:
            key = (str(file), 0, 0)
        with self._lock:
            if key in self._warned:
                return
            self._warned[key] = None
            if len(self._warned) > _REMEMBERED_PROBLEMS:
                self._warned.popitem(last=False)
        self._logger.warning("Ignoring %s: it %s", file, problem)


def _too_big(size: int) -> str:
    return f"is {size / 1024 / 1024:.1f} MiB; nfo files over 1 MiB are not read"
