"""The data folder is private to the server's user: folders 0700, files 0600.

It holds the catalog (password hashes, sessions, who watched what), the TLS key, the key that
seals second factors, thumbnails of private photos. At start the server makes the folder,
sets its own umask so everything it creates later is private too (SQLite's -wal and -shm files
take the catalog file's mode; plugin folders, thumbnails and transcode scratch take the umask),
and walks the folder once to take group and other permissions off whatever an older version, a
restore or a copy left readable, logging how many it fixed. A folder that is already right is
only read (idle means no writes). It never follows a symbolic link (a link out of the folder
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
    fixed = _tighten_blocking(str(folder), os.lstat(folder).st_mode)
    pending = [str(folder)]
    while pending:  # scandir, not Path objects: 100k thumbnails are walked in a fraction
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    try:
                        mode = entry.stat(follow_symlinks=False).st_mode
                    except FileNotFoundError:  # a transcode segment removed while we walked
                        continue
                    if stat.S_ISLNK(mode):
                        continue  # never followed: what it points at is not ours
                    if stat.S_ISDIR(mode):
                        pending.append(entry.path)
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
