"""The walk child: a folder library is walked and compared in a process of its own, with the
same result as in the server, and the server holds nothing library-sized for a rescan."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalog import Catalog
from core.catalog.database import Database
from core.kinds import FileRecord, LibraryInfo, WalkProblem
from core.library.roots import LibraryRoot, LibraryRoots
from core.scan.comparison import Comparison, compare_blocking, load_files_blocking
from core.scan.comparison import walk_folders_blocking as walk_folders
from core.scan.progress import ScanProgress
from core.scan.walker import WalkRequest
from core.scan.walking import WalkChildError, compare_in_child, compare_library
from tests.conftest import RunningServer, StartServer

SCHEMA = (
    "CREATE TABLE files (id INTEGER PRIMARY KEY, library_id INTEGER, root BLOB, relpath BLOB, "
    "role TEXT, size INTEGER, mtime_ns INTEGER, inode INTEGER, head_hash TEXT, error TEXT, "
    "UNIQUE (library_id, root, relpath))"
)


def catalog_with(path: Path, rows: list[tuple[int, str, str, int]]) -> Database:
    """A catalog file holding only the files table: (library, root, relpath, size) rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(SCHEMA)
    conn.executemany(
        "INSERT INTO files (library_id, root, relpath, role, size, mtime_ns, inode) "
        "VALUES (?, ?, ?, 'subtitle', ?, 0, 0)",
        [(lib, os.fsencode(root), os.fsencode(rel), size) for lib, root, rel, size in rows],
    )
    return Database(conn)


def test_a_folder_scope_loads_only_the_rows_under_that_folder(tmp_path: Path) -> None:
    root, other = str(tmp_path / "lib"), str(tmp_path / "other")
    names = ["Film", "Film/a.srt", "Film/sub/b.srt", "Film/\udcff.srt", "Film.x/c.srt"]
    names += ["Film 2/d.srt", "Film0/e.srt", "Filmz/f.srt", "a.srt"]
    rows = [(1, root, name, 1) for name in names]
    rows += [(1, other, "Film/g.srt", 1), (2, root, "Film/h.srt", 1)]
    db = catalog_with(tmp_path / "catalog.db", rows)

    scoped = load_files_blocking(db, 1, [(root, "Film")])
    assert sorted(scoped) == [
        (root, "Film"),
        (root, "Film/a.srt"),
        (root, "Film/sub/b.srt"),
        (root, "Film/\udcff.srt"),
    ]
    assert sorted(rel for _, rel in load_files_blocking(db, 1, [(root, "")])) == sorted(names)
    assert len(load_files_blocking(db, 1)) == len(names) + 1


def library(tmp_path: Path) -> tuple[Path, LibraryRoots]:
    """Subtitles, a poster, a file that is not media, a broken link and a link out."""
    lib = tmp_path / "Movies"
    for name in ("Old (1999)/old.en.srt", "Same (2000)/same.srt", "New (2001)/new.srt"):
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_text(name)
    (lib / "New (2001)/poster.jpg").write_bytes(b"jpg")
    (lib / "notes.txt").write_text("not media")
    (lib / "broken.srt").symlink_to(lib / "nowhere.srt")
    (tmp_path / "outside.srt").write_text("secret")
    (lib / "out.srt").symlink_to(tmp_path / "outside.srt")
    return lib, LibraryRoots([LibraryRoot(str(lib))])


def summary(comparison: Comparison) -> tuple[object, ...]:
    return (
        [(r.relpath, r.size, r.inode, role) for r, role in comparison.new],
        [(r.relpath, role, row.id) for r, role, row in comparison.changed],
        [(r.relpath, role, row.id) for r, role, row in comparison.moved],
        sorted((key, row.id) for key, row in comparison.missing.items()),
        sorted(comparison.dirty_folders),
        sorted(comparison.empty_roots),
    )


async def test_the_child_finds_what_a_walk_in_the_server_finds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib, roots = library(tmp_path)
    same = (lib / "Same (2000)/same.srt").stat()
    rows = [(1, str(lib), "Same (2000)/same.srt", same.st_size)]
    rows += [(1, str(lib), "Old (1999)/old.en.srt", 5), (1, str(lib), "Gone/gone.srt", 1)]
    db = catalog_with(tmp_path / "catalog.db", rows)
    db.execute(
        "UPDATE files SET mtime_ns = ?, inode = ? WHERE relpath = ?",
        [same.st_mtime_ns, same.st_ino, b"Same (2000)/same.srt"],
    )
    caplog.set_level(logging.INFO)
    here = ScanProgress(1, "Movies")
    expected = compare_blocking(
        walk_folders([str(lib)], roots), load_files_blocking(db, 1), "movies", here
    )
    caplog.clear()

    request = WalkRequest(str(tmp_path / "catalog.db"), 1, "movies", (str(lib),), roots)
    for _ in range(2):
        progress = ScanProgress(1, "Movies")
        comparison = await compare_in_child(request, progress)
        assert summary(comparison) == summary(expected)
        comparison.new.close()  # the new files are in a temporary file
        assert (progress.seen, progress.unchanged, progress.errors, progress.problems) == (
            here.seen,
            here.unchanged,
            here.errors,
            here.problems,
        )
    assert [p["error"] for p in progress.problems] == ["broken link"]
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Skipping")]
    assert skipped == []  # said once already, by the walk in this process


class ListedSource:
    """A source that walks itself (not a folder tree): compared in the server's thread."""

    source_id = "listed:Movies"
    library = LibraryInfo("Movies", "movies")

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def roots(self) -> list[Path]:
        return [self.folder]

    def is_online(self) -> bool:
        return True

    def walk_blocking(self, roots: LibraryRoots) -> Iterator[FileRecord | WalkProblem]:
        return walk_folders([str(self.folder)], roots)


class TreeSource(ListedSource):
    walks_folder_trees = True


@pytest.mark.parametrize("scope", [None, "Old (1999)"])
async def test_a_source_that_walks_itself_is_compared_as_a_folder_tree_is(
    tmp_path: Path, scope: str | None
) -> None:
    lib, roots = library(tmp_path)
    catalog = await Catalog.open(tmp_path / "data")
    try:
        found = []
        for source in (ListedSource(lib), TreeSource(lib)):
            keys = None if scope is None else [(str(lib), scope)]
            comparison = await compare_library(
                catalog, source, 1, roots, ScanProgress(1, "Movies"), keys
            )
            found.append(summary(comparison))
            comparison.new.close()
    finally:
        await catalog.close()
    assert found[0] == found[1]
    assert len(found[0][0]) == (4 if scope is None else 1)  # type: ignore[arg-type]


async def test_a_child_that_dies_fails_the_walk_with_how_it_ended(tmp_path: Path) -> None:
    request = WalkRequest(
        str(tmp_path / "catalog.db"), 1, "movies", (str(tmp_path),), LibraryRoots([])
    )
    command = (sys.executable, "-c", "import sys; sys.exit(3)")
    with pytest.raises(WalkChildError) as failed:
        await compare_in_child(request, ScanProgress(1, "Movies"), command)
    assert str(failed.value) == "the walk process ended before it answered (exit status 3)"


def subtitles(base: Path) -> None:
    """5,000 sidecar files: written without probing, so the scans stay short."""
    for folder in range(250):
        (base / f"Film {folder}").mkdir(parents=True)
        for number in range(20):
            (base / f"Film {folder}" / f"Film {folder}.{number}.srt").write_text("1")


async def peak_of_a_scan(server: RunningServer) -> int:
    """The most Python memory the server held above what it held before, during one scan."""
    tracemalloc.start()
    try:
        server.hub.scans.request_all()
        await server.hub.bus.drain()
        await server.hub.scans.wait_idle()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_a_first_scan_keeps_its_new_files_out_of_the_server(
    start_server: StartServer, tmp_path: Path
) -> None:
    """They stay in the walk child's temporary file and are read a part at a time: the
    server's peak was ~1.9 MB for 5,000 files (~380 bytes a file), now ~0.6 MB whatever the
    size (one part of 2,048 files read back)."""
    base = tmp_path / "Movies"
    base.mkdir()
    library = f"{{name: Movies, kind: movies, paths: ['{base}']}}"
    server = await start_server(f"folders:\n  watch: false\n  libraries:\n    - {library}\n")
    await server.hub.bus.drain()
    await server.hub.scans.wait_idle()
    subtitles(base)

    peak = await peak_of_a_scan(server)
    assert server.hub.scans.last["Movies"].new == 5000
    assert peak < 1_000_000


async def test_a_rescan_of_an_unchanged_library_holds_next_to_nothing_in_the_server(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Their rows and the walk live in the child. In the server, the rescan of 5,000 files
    peaked at ~3 MB (~600 bytes a file); now ~0.3 MB whatever the size."""
    base = tmp_path / "Movies"
    subtitles(base)
    library = f"{{name: Movies, kind: movies, paths: ['{base}']}}"
    server = await start_server(f"folders:\n  watch: false\n  libraries:\n    - {library}\n")
    await server.hub.bus.drain()
    await server.hub.scans.wait_idle()
    assert server.hub.scans.last["Movies"].new == 5000

    peak = await peak_of_a_scan(server)
    assert server.hub.scans.last["Movies"].unchanged == 5000
    assert peak < 1_000_000
