"""The Folders view: a library's media files arranged by the folders they sit in.

Built from `files.relpath` of the files that became items, kept in memory per library and
rebuilt after the library changes, with the names of each folder's subtitle files (so a page
of videos finds its sidecars without a query). Files of items hidden from TVs are left out, so
a folder holding only those does not appear. A folder's object id holds a short hash of its root and
relative path, never the path itself. Only the folder's own name is ever shown. Never touches
the disk: folders without media do not appear.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from core.plugin_api import Database, sort_key


@dataclass(slots=True)
class Folder:
    key: str
    root: bytes
    relpath: bytes  # b"" for a library root
    title: str
    parent: str | None  # key of the containing folder; None for a root
    subfolders: list[str] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # pks of the items directly inside, by path

    @property
    def files(self) -> int:
        """Media files directly inside."""
        return len(self.items)


@dataclass(slots=True)
class FolderIndex:
    folders: dict[str, Folder]
    roots: list[str]
    subtitles: dict[tuple[bytes, bytes], list[str]] = field(default_factory=dict)
    """Names of the subtitle files in each (root, folder), for matching to videos."""

    def children(self, key: str) -> list[Folder]:
        subfolders = [self.folders[k] for k in self.folders[key].subfolders]
        return sorted(subfolders, key=lambda f: (sort_key(f.title), f.key))

    def child_count(self, key: str) -> int:
        folder = self.folders[key]
        return len(folder.subfolders) + folder.files


def folder_key(root: bytes, relpath: bytes) -> str:
    return hashlib.blake2b(root + b"\0" + relpath, digest_size=8).hexdigest()


def _title(root: bytes, relpath: bytes) -> str:
    name = os.path.basename(relpath or root.rstrip(b"/")) or root
    return os.fsdecode(name)


def build_index_blocking(
    db: Database, library_id: int, visible: tuple[str, list[Any]] = ("1", [])
) -> FolderIndex:
    """Every folder holding media TVs may see (`visible`: a condition over `items`), and the
    folders above them, in one library."""
    rows = db.execute(
        "SELECT items.pk, files.root, files.relpath FROM items "
        f"JOIN files ON files.id = items.file_id WHERE items.library_id = ? AND ({visible[0]}) "
        "ORDER BY files.root, files.relpath",
        [library_id, *visible[1]],
    ).fetchall()
    folders: dict[str, Folder] = {}
    roots: list[str] = []

    def ensure(root: bytes, relpath: bytes) -> Folder:
        key = folder_key(root, relpath)
        found = folders.get(key)
        if found is not None:
            return found
        parent = None
        if relpath:
            parent_folder = ensure(root, os.path.dirname(relpath))
            parent = parent_folder.key
            parent_folder.subfolders.append(key)
        else:
            roots.append(key)
        folders[key] = Folder(key, root, relpath, _title(root, relpath), parent)
        return folders[key]

    for pk, root, relpath in rows:
        ensure(bytes(root), os.path.dirname(bytes(relpath))).items.append(pk)
    roots.sort(key=lambda k: (sort_key(folders[k].title), k))
    return FolderIndex(folders, roots, subtitles_blocking(db, library_id))


def subtitles_blocking(db: Database, library_id: int) -> dict[tuple[bytes, bytes], list[str]]:
    """The names of the subtitle files in each (root, folder) of a library: all that preparing
    DIDL needs, without building the whole folder index."""
    subtitles: dict[tuple[bytes, bytes], list[str]] = {}
    for root, relpath in db.execute(
        "SELECT root, relpath FROM files WHERE library_id = ? AND role = 'subtitle'", [library_id]
    ):
        folder, name = os.path.split(bytes(relpath))
        subtitles.setdefault((bytes(root), folder), []).append(os.fsdecode(name))
    return subtitles
