"""The watcher keeps each folder as its parent's watch and its own name: paths rebuilt from that
follow renames of any folder above, survive their parents' watches going first, and cost a few
dozen bytes a folder. After lost events (an overflow) the folders are walked again."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.folders.inotify import Change, Changes, FolderTree
from plugins.folders.watchmap import TOP, WatchMap
from tests.plugins.folders.test_watch_start import _until


def hold_events(
    tree: FolderTree, monkeypatch: pytest.MonkeyPatch, seconds: float
) -> threading.Event:
    """Hold the watcher's event handling until the returned gate is set (at most `seconds`), so
    the folders can change under it before it reads what happened."""
    handle = tree._handle

    def held(data: bytes) -> Changes | None:
        gate.wait(seconds)
        return handle(data)

    gate = threading.Event()
    monkeypatch.setattr(tree, "_handle", held)
    return gate


class Watching:
    """A FolderTree running in its thread, and what it reported."""

    def __init__(self, roots: list[Path]) -> None:
        self.reports: list[Changes | None] = []
        self.tree = FolderTree(roots, self.reports.append, lambda err: None, 30.0)
        self.thread = threading.Thread(target=self.tree.run_blocking)

    def saw(self, change: Change, path: Path | bytes) -> bool:
        text = os.fsdecode(path)
        return _until(lambda: any((change, text) in r for r in self.reports if r))


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[Watching]:
    running = Watching([tmp_path / "Movies"])
    (tmp_path / "Movies").mkdir()
    running.thread.start()
    yield running
    running.tree.stop()
    running.thread.join(10)
    assert not running.thread.is_alive()


def test_a_renamed_folder_maps_the_events_of_its_deep_folders_to_their_new_paths(
    tmp_path: Path, watching: Watching, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders below keep their watches: a file written there right after the rename, before
    the watcher has read of it, is reported (dropping and adding the watches again missed it)."""
    root = tmp_path / "Movies"
    (root / "A" / "B" / "C").mkdir(parents=True)
    assert _until(lambda: watching.tree.watched == 4)
    before = len(watching.reports)
    gate = hold_events(watching.tree, monkeypatch, 10)
    (root / "A").rename(root / "Z")
    (root / "Z" / "B" / "C" / "x.mkv").write_bytes(b"x")
    gate.set()
    assert watching.saw(Change.added, root / "Z")
    assert watching.saw(Change.added, root / "Z" / "B" / "C" / "x.mkv")
    assert watching.tree.watched == 4
    assert not any(str(root / "A") + os.sep in str(r) for r in watching.reports[before:])


def test_a_folder_moved_out_of_the_library_is_no_longer_watched(
    tmp_path: Path, watching: Watching
) -> None:
    root = tmp_path / "Movies"
    (root / "A" / "B").mkdir(parents=True)
    assert _until(lambda: watching.tree.watched == 3)
    before = len(watching.reports)
    (root / "A").rename(tmp_path / "Elsewhere")
    assert watching.saw(Change.deleted, root / "A")
    assert _until(lambda: watching.tree.watched == 1)
    (tmp_path / "Elsewhere" / "B" / "y.mkv").write_bytes(b"y")
    (root / "z.mkv").write_bytes(b"z")  # reported after anything the move-out could have caused
    assert watching.saw(Change.added, root / "z.mkv")
    assert not any("Elsewhere" in str(r) or "y.mkv" in str(r) for r in watching.reports[before:])


def test_folders_with_names_that_are_not_utf8_are_watched_under_their_own_bytes(
    tmp_path: Path, watching: Watching
) -> None:
    root = os.fsencode(tmp_path / "Movies")
    odd = os.path.join(root, b"Caf\xe9 (1999)")
    os.makedirs(os.path.join(odd, b"Extras \xff"))
    assert _until(lambda: watching.tree.watched == 3)
    with open(os.path.join(odd, b"Extras \xff", b"\xe9t\xe9.mkv"), "wb") as file:
        file.write(b"x")
    assert watching.saw(Change.added, os.path.join(odd, b"Extras \xff", b"\xe9t\xe9.mkv"))
    os.rename(odd, os.path.join(root, b"Caf\xe8"))
    with open(os.path.join(root, b"Caf\xe8", b"Extras \xff", b"b.mkv"), "wb") as file:
        file.write(b"x")
    assert watching.saw(Change.added, os.path.join(root, b"Caf\xe8", b"Extras \xff", b"b.mkv"))


def test_watching_many_folders_keeps_a_few_dozen_bytes_for_each(tmp_path: Path) -> None:
    """5,000 folders side by side (the widest folder of a big library): what the watcher holds
    afterwards, and at most while it adds them, stays far below a path string per folder."""
    root = tmp_path / "Movies"
    for number in range(5000):
        (root / f"A film with a title {number:05}").mkdir(parents=True)
    done = threading.Event()
    measured: dict[str, int] = {}

    def ready(_watched: int, _full: bool) -> None:
        measured["kept"], measured["peak"] = tracemalloc.get_traced_memory()
        done.set()

    tracemalloc.start()
    try:
        tree = FolderTree([root], lambda changes: None, lambda err: None, 30.0, ready)
        thread = threading.Thread(target=tree.run_blocking)
        thread.start()
        try:
            assert done.wait(60)
        finally:
            tree.stop()
            thread.join(10)
    finally:
        tracemalloc.stop()
    assert tree.watched == 5001
    assert measured["kept"] < 5000 * 64  # a dict of path strings held ~190 bytes a folder
    assert measured["peak"] < 5000 * 80


def test_a_folder_whose_parent_went_first_keeps_its_path_through_compaction() -> None:
    folders = WatchMap()
    assert folders.add(1, TOP, b"/library")
    for wd in range(2, 200):
        assert folders.add(wd, 1, b"f%d" % wd)
    assert folders.add(200, 150, b"inner")
    assert folders.drop(150) == b"/library/f150"  # an unmount can end the parent's watch first
    for wd in range(2, 150):
        folders.drop(wd)
    assert len(folders) == 51
    assert folders.path(200) == b"/library/f150/inner"
    assert folders.path(150) is None
    assert folders.child(1, b"f199") == 199
    assert sorted(folders.drop_tree(1)) == [1, *range(151, 200)]
    assert folders.path(200) == b"/library/f150/inner"  # a top entry now: not below 1 any more


def test_a_folder_seen_again_takes_its_new_place_unless_that_is_inside_itself() -> None:
    folders = WatchMap()
    folders.add(1, TOP, b"/library")
    folders.add(2, 1, b"A")
    folders.add(3, 2, b"B")
    assert not folders.add(2, 3, b"loop")  # a bind mount of A inside A/B
    assert folders.path(3) == b"/library/A/B"
    assert folders.add(3, 1, b"C")  # the same folder met under another name
    assert folders.path(3) == b"/library/C"
    assert folders.drop_tree(2) == [2]
    assert folders.add(0x7FFF_FFF0, 1, b"late")
    assert folders.add(4, 1, b"D")  # the descriptors wrapped around
    assert folders.path(4) == b"/library/D"
    assert folders.path(0x7FFF_FFF0) == b"/library/late"
    assert len(folders) == 4


def test_a_folder_made_while_events_were_lost_is_watched_after_the_overflow(
    tmp_path: Path, watching: Watching, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's queue holds 16,384 events (fs.inotify.max_queued_events); beyond that they
    are lost. Everything is rescanned then, and the folders are walked again: one made meanwhile
    gets its watch, so what is added to it later still shows up."""
    root = tmp_path / "Movies"
    (root / "Flood").mkdir()
    assert _until(lambda: watching.tree.watched == 2)
    gate = hold_events(watching.tree, monkeypatch, 30)
    try:
        for number in range(10_000):  # two events each: created, then closed after writing
            (root / "Flood" / f"{number}.part").write_bytes(b"")
        (root / "New").mkdir()  # its event is lost: the queue is full
    finally:
        gate.set()
    assert _until(lambda: None in watching.reports)
    (root / "New" / "x.mkv").write_bytes(b"x")
    assert watching.saw(Change.added, root / "New" / "x.mkv")
    assert watching.tree.watched == 3
