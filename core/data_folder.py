"""The data folder is private to the server's user: folders 0700, files 0600.

It holds the catalog (password hashes, sessions, who watched what), the TLS key, the key that
seals second factors, thumbnails of private photos. At start the server makes the folder,
sets its own umask so everything it creates later is private too (SQLite's -wal and -shm files
take the catalog file's mode; plugin folders, thumbnails and transcode scratch take the umask),
and takes group and other permissions off whatever an older version, a restore or a copy left
readable, logging how many it fixed: the folder's own entries always, and everything under a
folder that others could enter (what is inside a private folder is out of their reach anyway,
so 100k thumbnails are not walked at every start). A folder that is already right is only read
(idle means no writes). It never follows a symbolic link (a link out of the folder
points at something that is not ours to change) and never loosens a mode.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

_LOGGER = logging.getLogger("hearth.data")
PRIVATE_UMASK = 0o077
LOOSE = 0o077  # any permission for the group or for others


def make_private_blocking(folder: Path) -> int:
    """Create `folder` (0700) if needed, make this process create private files from now on,
    and take group/other permissions off everything in it; returns how many entries changed."""
    os.umask(PRIVATE_UMASK)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    top = os.lstat(folder).st_mode
    fixed = _tighten_blocking(str(folder), top)
    # A folder nobody else may enter keeps what is inside it private, whatever its modes: only
    # what lies under a loose folder is walked. One that was always private (every start after
    # the first) is read one level deep, not through its 100k thumbnails (0.4 s here, seconds
    # on an SD card, at every start).
    pending = [(str(folder), bool(top & LOOSE))]
    while pending:  # scandir, not Path objects: 100k thumbnails are walked in a fraction
        path, under_loose = pending.pop()
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    try:
                        mode = entry.stat(follow_symlinks=False).st_mode
                    except FileNotFoundError:  # a transcode segment removed while we walked
                        continue
                    if stat.S_ISLNK(mode):
                        continue  # never followed: what it points at is not ours
                    if stat.S_ISDIR(mode) and (under_loose or mode & LOOSE):
                        pending.append((entry.path, True))
                    fixed += _tighten_blocking(entry.path, mode)
        except FileNotFoundError:
            continue
    if fixed:
        _LOGGER.info(
            "Made %d file(s) and folder(s) in %s readable by the server's user only", fixed, folder
        )
    return fixed


def _tighten_blocking(path: str, mode: int) -> int:
    if not mode & LOOSE:
        return 0
    try:
        os.chmod(path, stat.S_IMODE(mode) & ~LOOSE)  # not a link: the caller checked
    except FileNotFoundError:
        return 0
    return 1
