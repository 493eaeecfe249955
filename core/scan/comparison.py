"""What a walk found compared with what the catalog remembers: new, changed, moved and missing
files, decided from `stat` alone.

Runs where the walk runs: in the walk child (core.scan.walker) for folder trees, so that the
server never holds a library's worth of rows or walk records, or in an executor thread for a
source that walks itself. Pure apart from reading the catalog's file rows and, for a scoped
walk, looking whether a library folder is empty; it never writes and never opens a file.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.catalog.database import Database
from core.kinds import FileRecord, WalkProblem
from core.library.roots import LibraryRoots
from core.media.classify import FileKind, classify
from core.scan.progress import ScanProgress
from core.scan.records import NewFiles, PackedRecords
from core.scan.walk import walk_tree_blocking

MEDIA_ROLE = {
    "movies": FileKind.VIDEO,
    "shows": FileKind.VIDEO,
    "videos": FileKind.VIDEO,
    "music": FileKind.AUDIO,
    "photos": FileKind.PHOTO,
}
SIDECAR_ROLES = frozenset({FileKind.SUBTITLE, FileKind.NFO, FileKind.ARTWORK})
Key = tuple[str, str]  # (root, relpath) as the walker spells them


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the catalog remembers of a file, to compare with what a walk finds."""

    id: int
    role: str
    size: int
    mtime_ns: int
    inode: int
    head_hash: str | None
    error: str | None


@dataclass
class Comparison:
    """The difference between a walk and the catalog."""

    new: NewFiles = field(default_factory=PackedRecords)  # (record, role); most of a walk
    changed: list[tuple[FileRecord, str, FileRow]] = field(default_factory=list)
    moved: list[tuple[FileRecord, str, FileRow]] = field(default_factory=list)
    missing: dict[Key, FileRow] = field(default_factory=dict)
    # folders whose sidecars are new, changed or gone and whose media is not probed this scan
    # (when it is, its providers are asked then): their items' providers are asked again
    dirty_folders: set[str] = field(default_factory=set)
    empty_roots: set[str] = field(default_factory=set)


_COLUMNS = "SELECT id, root, relpath, role, size, mtime_ns, inode, head_hash, error FROM files "


def load_files_blocking(
    db: Database, library_id: int, scope: list[Key] | None = None
) -> dict[Key, FileRow]:
    """The files of a library keyed by (root, relpath) as the walker spells them; with a
    `scope`, only those inside its (root, folder) prefixes (a watcher's scan of one folder
    needs its few rows, not the library's)."""
    queries: list[tuple[str, list[object]]]
    if scope is None:
        queries = [(_COLUMNS + "WHERE library_id = ?", [library_id])]
    else:
        queries = [_scope_query(library_id, root, folder) for root, folder in scope]
    known: dict[Key, FileRow] = {}
    for sql, parameters in queries:
        for fid, root, rel, role, size, mtime, inode, hh, err in db.execute(sql, parameters):
            known[(os.fsdecode(root), os.fsdecode(rel))] = FileRow(
                fid, role, size, mtime, inode, hh, err
            )
    return known


def _scope_query(library_id: int, root: str, folder: str) -> tuple[str, list[object]]:
    """Rows under one folder of one root. Paths are stored as bytes (BLOBs compare bytewise):
    `folder/` up to (not including) `folder0` is every path that starts with `folder/`, since
    '0' is the byte after '/', and the unique index answers the range."""
    where = "WHERE library_id = ? AND root = ?"
    parameters: list[object] = [library_id, os.fsencode(root)]
    if folder:
        prefix = os.fsencode(folder)
        where += " AND (relpath = ? OR (relpath >= ? AND relpath < ?))"
        parameters += [prefix, prefix + b"/", prefix + b"0"]
    return _COLUMNS + where, parameters


def walk_folders_blocking(
    folders: list[str], roots: LibraryRoots
) -> Iterator[FileRecord | WalkProblem]:
    """A folder tree source's walk: each of its folders, in order (what the folder and USB
    sources' `walk_blocking` do)."""
    for folder in folders:
        yield from walk_tree_blocking(Path(folder), roots=roots)


def walk_scope_blocking(
    scope: list[Key], roots: LibraryRoots
) -> Iterator[FileRecord | WalkProblem]:
    """Only the (root, folder) parts of a library, with paths relative to their root."""
    for root, folder in scope:
        for entry in walk_tree_blocking(Path(root) / folder, roots=roots):
            if isinstance(entry, FileRecord):
                rel = f"{folder}/{entry.relpath}" if folder else entry.relpath
                yield FileRecord(Path(root), rel, entry.size, entry.mtime_ns, entry.inode)
            else:
                yield entry


def compare_blocking(
    walk: Iterator[FileRecord | WalkProblem],
    known: dict[Key, FileRow],
    library_kind: str,
    progress: ScanProgress,
    scope: list[Key] | None = None,
) -> Comparison:
    """Stat-only comparison; `scope` limits missing-detection to (root, folder) prefixes."""
    media = MEDIA_ROLE[library_kind]
    result = Comparison()
    new = PackedRecords()
    if scope is None:
        result.missing = dict(known)
    else:
        result.missing = {k: v for k, v in known.items() if _in_scope(k, scope)}
    per_root: dict[str, int] = {}
    for entry in walk:
        if isinstance(entry, WalkProblem):
            progress.problem(os.path.join(entry.root, entry.relpath), entry.error)
            continue
        role = classify(entry.relpath)
        if role != media and role not in SIDECAR_ROLES:
            continue
        root = os.fspath(entry.root)
        per_root[root] = per_root.get(root, 0) + 1
        progress.seen += 1
        key = (root, entry.relpath)
        row = result.missing.pop(key, None)
        if row is None and scope is not None:
            row = known.get(key)
        if row is None:
            new.append(entry, role)
        elif row.size == entry.size and row.mtime_ns == entry.mtime_ns and row.inode == entry.inode:
            progress.unchanged += 1
            continue
        else:
            result.changed.append((entry, role, row))
        if role in SIDECAR_ROLES:
            result.dirty_folders.add(folder_of(root, entry.relpath))
    # A scoped walk (the watcher's) sees only its folders: the last file of a folder deleted
    # leaves the scope empty while the drive is plainly there
    result.empty_roots = {
        root
        for root in {root for root, _ in result.missing}
        if per_root.get(root, 0) == 0 and (scope is None or _looks_empty(root))
    }
    for (root, relpath), row in result.missing.items():
        if row.role in SIDECAR_ROLES:
            result.dirty_folders.add(folder_of(root, relpath))
    result.new = new
    _match_inodes(result)
    if result.dirty_folders:
        result.dirty_folders -= _probed_folders(result, media)
    return result


def _probed_folders(result: Comparison, media: str) -> set[str]:
    """The folders of the files the scan will probe (a first scan's: nearly every folder)."""
    probed = [(record, role) for record, role, _ in result.changed + result.moved]
    return {
        folder_of(os.fspath(record.root), record.relpath)
        for record, role in itertools.chain(result.new, probed)
        if role == media
    }


def _looks_empty(root: str) -> bool:
    """Whether a library folder is absent, unreadable or empty: an unmounted drive's mount
    point, whose files must be kept until it is back."""
    try:
        with os.scandir(root) as entries:
            return next(entries, None) is None
    except OSError:
        return True


def folder_of(root: str, relpath: str) -> str:
    """The absolute folder holding a file, spelled as os.path.dirname spells it."""
    folder = os.path.dirname(relpath)
    return os.path.join(root, folder) if folder else root


def _in_scope(key: Key, scope: list[Key]) -> bool:
    root, relpath = key
    return any(
        root == s_root and (not folder or relpath == folder or relpath.startswith(folder + "/"))
        for s_root, folder in scope
    )


def _match_inodes(result: Comparison) -> None:
    """A rename inside one filesystem keeps the inode, size and mtime: the same file."""
    if not result.missing:  # a first scan: nothing can have moved
        return
    by_inode = {(row.inode, row.size, row.mtime_ns): key for key, row in result.missing.items()}
    still_new = PackedRecords()
    for record, role in result.new:
        key = by_inode.pop((record.inode, record.size, record.mtime_ns), None)
        if key is not None and result.missing[key].role == role:
            result.moved.append((record, role, result.missing.pop(key)))
        else:
            still_new.append(record, role)
    result.new = still_new
