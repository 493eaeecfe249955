"""Walks a folder tree the way every folder-like source needs: fast, loop-safe, never failing.

Used by the folder and USB sources alike (plugins do not import each other; they share this).
One `scandir` per folder and one `stat` per kept file; ignored folders (hidden, NAS system
folders) are never entered. A symbolic link (to a folder or a file) is followed only when the
library roots allow it (`LibraryRoots.refusal_blocking`: by default, only to a target inside
some library folder), and the walk's own starting folder is held to the same rule; a followed
folder is entered once, so a loop is reported, not walked. Names that are not UTF-8 arrive
surrogate-escaped and are kept as they are. It never opens a file and never writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from core.kinds import FileRecord, WalkProblem
from core.library.roots import LibraryRoot, LibraryRoots
from core.media.classify import is_ignored_directory

Keep = Callable[[str], bool]


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def walk_tree_blocking(
    root: Path, keep: Keep | None = None, roots: LibraryRoots | None = None
) -> Iterator[FileRecord | WalkProblem]:
    """Every regular file below `root` whose relative path `keep` accepts, and every problem.
    Links are followed as `roots` allows (default: only to targets inside `root` itself)."""
    if roots is None:
        roots = LibraryRoots([LibraryRoot(os.fspath(root))])
    if roots.refusal_blocking(root) is not None:  # a folder scan started through a link
        return
    try:
        top = os.stat(root)
    except OSError as err:
        yield WalkProblem(root, "", f"cannot open the library folder: {_reason(err)}")
        return
    visited = {(top.st_dev, top.st_ino)}
    pending: list[tuple[str, str]] = [("", os.fspath(root))]
    while pending:
        rel, folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError as err:
            yield WalkProblem(root, rel, f"cannot read folder: {_reason(err)}")
            continue
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_symlink() and roots.refusal_blocking(entry.path) is not None:
                    continue  # logged once by the roots; not a problem of the file's
                if entry.is_dir():
                    if is_ignored_directory(entry.name):
                        continue
                    st = entry.stat()
                    if (st.st_dev, st.st_ino) in visited:
                        yield WalkProblem(root, relpath, "folder loop (a link back up the tree)")
                        continue
                    visited.add((st.st_dev, st.st_ino))
                    pending.append((relpath, entry.path))
                    continue
                if keep is not None and not keep(relpath):
                    continue
                if not entry.is_file():
                    if entry.is_symlink():
                        yield WalkProblem(root, relpath, "broken link")
                    continue
                st = entry.stat()
            except OSError as err:  # vanished mid-walk, a link loop (ELOOP), no permission
                yield WalkProblem(root, relpath, _reason(err))
                continue
            yield FileRecord(root, relpath, st.st_size, st.st_mtime_ns, st.st_ino)
