"""The library roots on real files and links: which links a walk follows under each
`follow_symlinks`, and opening that checks the file actually opened."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from core.kinds import FileRecord, WalkProblem
from core.library.artwork import ArtworkError, thumbnail_blocking
from core.library.fields import EMBEDDED_PREFIX
from core.library.roots import LibraryRoot, LibraryRoots, OutsideLibraryError
from core.scan.walk import walk_tree_blocking
from tests.core.media.mediagen import make_image_bytes, make_photo, make_video


def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A library, another library, and a folder outside both, linked every which way."""
    lib, other, outside = tmp_path / "lib", tmp_path / "other", tmp_path / "outside"
    for folder in (lib, other / "d", outside / "d"):
        folder.mkdir(parents=True)
    for path in (lib / "own.mkv", other / "x.mkv", other / "d" / "z.mkv"):
        path.write_bytes(b"in a library")
    for path in (outside / "y.mkv", outside / "d" / "w.mkv"):
        path.write_bytes(b"outside")
    (lib / "to_other.mkv").symlink_to(other / "x.mkv")
    (lib / "to_outside.mkv").symlink_to(outside / "y.mkv")
    (lib / "dir_other").symlink_to(other / "d")
    (lib / "dir_outside").symlink_to(outside / "d")
    (lib / "loop").symlink_to(lib)
    return lib, other, outside


def roots_of(lib: Path, other: Path, follow: str) -> LibraryRoots:
    return LibraryRoots([LibraryRoot(str(lib), follow), LibraryRoot(str(other))])


@pytest.mark.parametrize(
    ("follow", "expected"),
    [
        ("false", {"own.mkv"}),
        ("inside", {"own.mkv", "to_other.mkv", "dir_other/z.mkv"}),
        (
            "all",
            {"own.mkv", "to_other.mkv", "dir_other/z.mkv", "to_outside.mkv", "dir_outside/w.mkv"},
        ),
    ],
)
def test_a_walk_follows_the_links_its_library_allows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, follow: str, expected: set[str]
) -> None:
    lib, other, _ = tree(tmp_path)
    found = list(walk_tree_blocking(lib, roots=roots_of(lib, other, follow)))
    assert {e.relpath for e in found if isinstance(e, FileRecord)} == expected
    problems = [(e.relpath, e.error) for e in found if isinstance(e, WalkProblem)]
    assert problems == (
        [] if follow == "false" else [("loop", "folder loop (a link back up the tree)")]
    )
    skipped = {r.getMessage() for r in caplog.records if r.getMessage().startswith("Skipping")}
    if follow == "inside":
        assert skipped == {
            f"Skipping {lib / 'to_outside.mkv'}: it links to {tmp_path / 'outside' / 'y.mkv'}, "
            "outside every library folder",
            f"Skipping {lib / 'dir_outside'}: it links to {tmp_path / 'outside' / 'd'}, "
            "outside every library folder",
        }
        assert all(
            r.levelno == logging.INFO for r in caplog.records if "Skipping" in r.getMessage()
        )


def test_a_scan_of_one_folder_reached_through_a_link_out_finds_nothing(tmp_path: Path) -> None:
    """The watcher's folder scans start below the root: the way there is held to the rule."""
    lib, other, _ = tree(tmp_path)
    roots = roots_of(lib, other, "inside")
    assert list(walk_tree_blocking(lib / "dir_outside", roots=roots)) == []
    inside = list(walk_tree_blocking(lib / "dir_other", roots=roots))
    assert [e.relpath for e in inside if isinstance(e, FileRecord)] == ["z.mkv"]


def test_a_link_swapped_outside_after_its_check_is_refused_once_open(tmp_path: Path) -> None:
    """What was checked before cannot vouch for what is opened now."""
    lib, other, outside = tree(tmp_path)
    roots = roots_of(lib, other, "inside")
    with roots.open_blocking(lib / "to_other.mkv") as opened:
        assert opened.file.read() == b"in a library"
        assert opened.real_path == str(other / "x.mkv")
    (lib / "to_other.mkv").unlink()
    (lib / "to_other.mkv").symlink_to(outside / "y.mkv")
    with pytest.raises(OutsideLibraryError):
        roots.open_blocking(lib / "to_other.mkv")
    with pytest.raises(FileNotFoundError):  # what ffmpeg would be handed
        roots.real_path_blocking(lib / "to_other.mkv")
    assert roots_of(lib, other, "all").real_path_blocking(lib / "to_other.mkv") == str(
        outside / "y.mkv"
    )


def test_a_fifo_in_a_library_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    lib, other, _ = tree(tmp_path)
    os.mkfifo(lib / "pipe.mkv")
    done = threading.Event()

    def attempt() -> None:
        with pytest.raises(FileNotFoundError):
            roots_of(lib, other, "inside").open_blocking(lib / "pipe.mkv")
        done.set()

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done.is_set()


def test_artwork_and_embedded_covers_behind_a_link_out_are_missing(tmp_path: Path) -> None:
    lib, other, outside = tree(tmp_path)
    roots = roots_of(lib, other, "inside")
    make_photo(outside / "poster.jpg", (40, 60))
    make_video(outside / "film.mkv", cover=make_image_bytes((40, 60)))
    (lib / "poster.jpg").symlink_to(outside / "poster.jpg")
    (lib / "film.mkv").symlink_to(outside / "film.mkv")
    for ref in (str(lib / "poster.jpg"), EMBEDDED_PREFIX + str(lib / "film.mkv")):
        with pytest.raises(ArtworkError, match="does not exist"):
            thumbnail_blocking(ref, 160, tmp_path / "cache", roots)
        everywhere = roots_of(lib, other, "all")
        assert thumbnail_blocking(ref, 160, tmp_path / "cache", everywhere).is_file()


def test_what_is_plainly_outside_is_never_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening can be an act (a link to /dev/watchdog arms it, a FIFO wakes its writer): a
    path whose link leads outside is refused before any open; the check after opening still
    catches a link swapped in between."""
    lib, other, _ = tree(tmp_path)
    opened: list[str] = []
    real_open = os.open

    def spy(path: str, flags: int, *rest: int) -> int:
        opened.append(os.fspath(path))
        return real_open(path, flags, *rest)

    monkeypatch.setattr(os, "open", spy)
    with pytest.raises(OutsideLibraryError):
        roots_of(lib, other, "inside").open_blocking(lib / "to_outside.mkv")
    assert opened == []
    with roots_of(lib, other, "inside").open_blocking(lib / "own.mkv") as found:
        assert found.file.read() == b"in a library"
    assert opened == [str(lib / "own.mkv")]
