"""One watcher serves every folder library: each changed folder is scanned by the libraries
whose roots hold it, and changes that may have been missed rescan them all."""

from __future__ import annotations

from pathlib import Path

from plugins.folders.watcher import request_scans


def test_each_changed_folder_goes_to_the_libraries_that_hold_it(tmp_path: Path) -> None:
    movies, shows, more = tmp_path / "Movies", tmp_path / "TV", tmp_path / "More movies"
    watched = [(movies, "movies"), (shows, "shows"), (more, "movies")]
    asked: list[tuple[str, list[str] | None]] = []

    def request(source: str, folders: list[str] | None) -> None:
        asked.append((source, folders))

    request_scans(request, watched, [f"{shows}/Show/Season 01", f"{more}/Ran (1985)"])
    assert asked == [("movies", [f"{more}/Ran (1985)"]), ("shows", [f"{shows}/Show/Season 01"])]
    asked.clear()
    request_scans(request, watched, [f"{tmp_path}/Moviesque/x"])  # a sibling, not inside
    assert asked == []
    request_scans(request, watched, None)
    assert asked == [("movies", None), ("shows", None)]
