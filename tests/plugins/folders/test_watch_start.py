"""The folder watcher adds its watches in a thread of its own: the server answers while it does,
and a folder removed meanwhile (a drive pulled out) costs only that folder's watch."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plugins.folders.inotify import Change, FolderTree
from tests.conftest import StartServer
from tests.core.scan.library import video
from tests.core.scan.test_scanner import items, settle
from tests.plugins.folders.test_watch import eventually


def hold_first_walk(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Makes the watcher's first walk wait: (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    add_tree = FolderTree._add_tree

    def held(self: FolderTree, top: str) -> bool:
        if not entered.is_set():
            entered.set()
            release.wait(60)
        return add_tree(self, top)

    monkeypatch.setattr(FolderTree, "_add_tree", held)
    return entered, release


def folders_detail(health: dict[str, object]) -> object:
    plugins = health["plugins"]
    assert isinstance(plugins, list)
    return next(p.get("detail") for p in plugins if p["domain"] == "folders")


async def test_health_answers_while_the_watches_are_still_being_added(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    movies = tmp_path / "Movies"
    video(movies, "Heat (1995)/Heat (1995).mkv")
    entered, release = hold_first_walk(monkeypatch)
    server = await start_server(
        f"folders:\n  libraries:\n    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    try:
        assert await asyncio.to_thread(entered.wait, 30)
        health = await server.get_json("/api/health")
        assert health["status"] == "ok"
        assert folders_detail(health) == {"watch": "starting"}
    finally:
        release.set()
    await settle(server)

    async def watching() -> bool:
        detail = folders_detail(await server.get_json("/api/health"))
        return detail == {"watch": "on", "folders": 2}  # Movies and Heat (1995)

    await eventually(watching)

    video(movies, "Ran (1985)/Ran (1985).mkv")

    async def added() -> bool:
        return "Ran" in {m["title"] for m in await items(server, kind="movie")}

    await eventually(added)


async def test_a_folder_removed_while_watches_are_added_does_not_stop_the_watcher(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    movies, shows = tmp_path / "Movies", tmp_path / "TV"
    video(movies, "Heat (1995)/Heat (1995).mkv")
    video(shows, "Show/Season 01/Show - S01E01.mkv")
    entered, release = hold_first_walk(monkeypatch)
    server = await start_server(
        "folders:\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
        f"    - {{name: TV, kind: shows, paths: ['{shows}']}}\n"
    )
    try:
        assert await asyncio.to_thread(entered.wait, 30)
        shutil.rmtree(shows)  # the whole library's folder, as when its drive is pulled out
    finally:
        release.set()
    await settle(server)

    video(movies, "Ran (1985)/Ran (1985).mkv")

    async def added() -> bool:
        return "Ran" in {m["title"] for m in await items(server, kind="movie")}

    await eventually(added)
    assert (await server.get_json("/api/health"))["status"] == "ok"


def test_a_folder_moved_away_loses_its_watches_and_one_moved_in_gains_them(
    tmp_path: Path,
) -> None:
    root = tmp_path / "Movies"
    (root / "A" / "inner").mkdir(parents=True)
    reports: list[object] = []
    tree = FolderTree([root], reports.append, lambda err: None, 30.0)
    thread = threading.Thread(target=tree.run_blocking)
    thread.start()
    try:
        assert _until(lambda: tree.watched == 3)
        (root / "A").rename(tmp_path / "outside")
        assert _until(lambda: tree.watched == 1)
        (tmp_path / "outside").rename(root / "B")
        assert _until(lambda: tree.watched == 3)
        (root / "B" / "inner" / "x.mkv").write_bytes(b"x")
        assert _until(lambda: any(str(root / "B" / "inner" / "x.mkv") in str(r) for r in reports))
    finally:
        tree.stop()
        thread.join(10)
    assert not thread.is_alive()


def _until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Polls a condition the watcher thread makes true (it has no event to wait on)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_a_root_that_goes_away_is_watched_again_when_it_comes_back(tmp_path: Path) -> None:
    """A drive pulled out and put back: its folders' watches go, and come back with a report of
    the root (what is on it may have changed meanwhile)."""
    root, other = tmp_path / "Drive", tmp_path / "Movies"
    (root / "A").mkdir(parents=True)
    other.mkdir()
    reports: list[object] = []
    tree = FolderTree([root, other], reports.append, lambda err: None, 0.05)
    thread = threading.Thread(target=tree.run_blocking)
    thread.start()
    try:
        assert _until(lambda: tree.watched == 3)
        shutil.rmtree(root)
        assert _until(lambda: tree.watched == 1)
        (root / "B").mkdir(parents=True)
        assert _until(lambda: tree.watched == 3)
        assert _until(lambda: any((Change.added, str(root)) in r for r in reports if r))
        (other / "x.mkv").write_bytes(b"x")
        assert _until(lambda: any((Change.added, str(other / "x.mkv")) in r for r in reports if r))
    finally:
        tree.stop()
        thread.join(10)
    assert not thread.is_alive()
