"""Scanning a real library through a real server: ground truth, hostile files, incremental
rescans that write nothing, moves that keep identity, and libraries that go missing."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import Truth, add_hostile, build_library, library_yaml, video


async def settle(server: RunningServer) -> None:
    """Until every requested scan has run (requests come from bus events)."""
    await server.hub.bus.drain()
    await server.hub.scans.wait_idle()


async def items(server: RunningServer, **filters: Any) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in {"limit": 500, **filters}.items())
    page = await server.get_json(f"/api/items?{query}")
    return page["items"]  # type: ignore[return-value]


async def library_ids(server: RunningServer) -> dict[str, int]:
    data = await server.get_json("/api/libraries")
    return {lib["name"]: lib["id"] for lib in data["libraries"]}  # type: ignore[attr-defined]


async def parents_of(server: RunningServer, item: dict[str, Any]) -> tuple[str, ...]:
    chain: list[str] = []
    parent = item["parent_id"]
    while parent:
        data = await server.get_json(f"/api/items/{parent}")
        chain.insert(0, str(data["title"]))
        parent = data["parent_id"]
    return tuple(chain)


def db_fingerprint(data_dir: Path) -> dict[str, str]:
    """Content hashes of the database and its WAL, after a checkpoint."""
    with sqlite3.connect(data_dir / "catalog.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(data_dir.glob("catalog.db*"))
        if not f.name.endswith("-shm")
    }


@pytest.fixture
async def scanned(
    start_server: StartServer, tmp_path: Path
) -> tuple[RunningServer, Path, dict[str, list[Truth]]]:
    base = tmp_path / "media"
    truth = build_library(base)
    server = await start_server(library_yaml(base))
    await settle(server)
    return server, base, truth


LIBRARIES = {
    "Movies": "Movies",
    "TV": "TV",
    "Music": "Music",
    "Photos": "Photos",
    "Videos": "Home Videos",
}


async def test_every_file_matches_its_ground_truth(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, _, truth = scanned
    ids = await library_ids(server)
    for folder, expected in truth.items():
        library = ids[LIBRARIES[folder]]
        kinds = {t.kind for t in expected}
        found: list[dict[str, Any]] = []
        for kind in kinds:
            found += await items(server, library=library, kind=kind)
        assert sorted(i["title"] for i in found) == sorted(t.title for t in expected), folder
        by_title = {i["title"]: i for i in found}
        for t in expected:
            item = by_title[t.title]
            assert item["kind"] == t.kind
            assert item["online"] is True
            if t.duration:
                assert item["duration"] == pytest.approx(t.duration, abs=0.1)
            assert await parents_of(server, item) == t.parents, t.relpath
            assert item["index_number"] == t.index_number, t.relpath
            assert item["index_end"] == t.index_end, t.relpath
            if t.disc_number is not None:
                assert item["disc_number"] == t.disc_number
            if t.year is not None:
                assert item["year"] == t.year, t.relpath


async def test_trailers_are_not_movies_and_containers_are_not_duplicated(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, _, _ = scanned
    ids = await library_ids(server)
    movies = await items(server, library=ids["Movies"], kind="movie")
    assert sorted(m["title"] for m in movies) == ["Alien", "Blade Runner"]
    shows = await items(server, library=ids["TV"])
    assert [(s["title"], s["year"], s["child_count"]) for s in shows] == [("The Office", 2005, 3)]
    seasons = await items(server, parent=shows[0]["id"], sort="index")
    assert [s["title"] for s in seasons] == ["Specials", "Season 1", "Season 2"]


async def test_a_rescan_with_no_changes_writes_nothing(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]], tmp_path: Path
) -> None:
    server, _, _ = scanned
    before = db_fingerprint(tmp_path / "data")
    server.hub.scans.request_all()
    await settle(server)
    assert db_fingerprint(tmp_path / "data") == before
    last = server.hub.scans.last["Movies"]
    assert (last.new, last.changed, last.removed, last.unchanged) == (0, 0, 0, 3)


async def test_hostile_files_are_recorded_and_the_rest_is_scanned(
    start_server: StartServer, tmp_path: Path
) -> None:
    base = tmp_path / "media"
    build_library(base)
    expectations = add_hostile(base / "Videos" / "bad")
    server = await start_server(library_yaml(base))
    await settle(server)
    status = await server.get_json("/api/scan")
    errors = {os.path.basename(e["path"]): e["error"] for e in status["errors"]}  # type: ignore[attr-defined]
    videos = await items(server, library=(await library_ids(server))["Home Videos"], kind="video")
    titles = {v["title"] for v in videos}
    for name, outcome in expectations.items():
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        if outcome == "error":
            assert shown in errors, name
        else:
            assert os.path.splitext(name)[0] in titles
    assert "2019-07-04 Fireworks" in titles
    assert "empty" in errors["empty.mkv"] or "zero" in errors["empty.mkv"]
    problems = status["last"]["Home Videos"]["problems"]  # type: ignore[index]
    messages = " ".join(p["error"] for p in problems)
    assert "loop" in messages and "broken link" in messages


async def test_renamed_and_moved_files_keep_their_id(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, base, _ = scanned
    ids = await library_ids(server)
    movie = next(
        m for m in await items(server, library=ids["Movies"], kind="movie") if m["title"] == "Alien"
    )
    (base / "Movies" / "Alien (1979)").mkdir()
    os.rename(base / "Movies/Alien (1979).mp4", base / "Movies/Alien (1979)/Alien (1979).mp4")
    server.hub.scans.request_all()
    await settle(server)
    after = next(
        m for m in await items(server, library=ids["Movies"], kind="movie") if m["title"] == "Alien"
    )
    assert after["id"] == movie["id"]
    assert server.hub.scans.last["Movies"].moved == 1


async def test_a_copy_then_delete_keeps_its_id_by_content(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, base, _ = scanned
    ids = await library_ids(server)
    before = {m["title"]: m["id"] for m in await items(server, library=ids["Movies"], kind="movie")}
    shutil.copy2(base / "Movies/Alien (1979).mp4", base / "Movies/Alien.1979.mp4")
    os.remove(base / "Movies/Alien (1979).mp4")
    server.hub.scans.request_all()
    await settle(server)
    after = {m["title"]: m["id"] for m in await items(server, library=ids["Movies"], kind="movie")}
    assert after == before


async def test_changed_file_is_reprobed_and_deleted_file_removed(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, base, _ = scanned
    ids = await library_ids(server)
    before = {m["title"]: m for m in await items(server, library=ids["Movies"], kind="movie")}
    video(base / "Movies", "Blade Runner (1982)/Blade Runner (1982).mkv", 3.0)
    os.remove(base / "Movies/Alien (1979).mp4")
    server.hub.scans.request_all()
    await settle(server)
    after = {m["title"]: m for m in await items(server, library=ids["Movies"], kind="movie")}
    assert set(after) == {"Blade Runner"}
    assert after["Blade Runner"]["id"] == before["Blade Runner"]["id"]
    assert after["Blade Runner"]["duration"] == pytest.approx(3.0, abs=0.1)


async def test_emptied_show_leaves_no_empty_containers(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, base, _ = scanned
    shutil.rmtree(base / "TV" / "The Office (2005)" / "Season 02")
    server.hub.scans.request_all()
    await settle(server)
    ids = await library_ids(server)
    seasons = await items(server, library=ids["TV"], kind="season")
    assert sorted(s["title"] for s in seasons) == ["Season 1", "Specials"]


async def test_a_library_whose_folder_disappears_keeps_its_items(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]], tmp_path: Path
) -> None:
    server, base, _ = scanned
    ids = await library_ids(server)
    count = len(await items(server, library=ids["Movies"], kind="movie"))
    os.rename(base / "Movies", tmp_path / "unplugged")
    server.hub.scans.request_all()
    await settle(server)
    libraries = {lib["name"]: lib for lib in (await server.get_json("/api/libraries"))["libraries"]}  # type: ignore[attr-defined]
    assert libraries["Movies"]["online"] is False
    assert await items(server, library=ids["Movies"], kind="movie") == []  # hidden, not deleted
    os.rename(tmp_path / "unplugged", base / "Movies")
    server.hub.scans.request_all()
    await settle(server)
    assert len(await items(server, library=ids["Movies"], kind="movie")) == count


@pytest.mark.parametrize("mount_point_left_behind", [True])
async def test_an_emptied_mount_point_is_not_taken_as_deleting_everything(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
    tmp_path: Path,
    mount_point_left_behind: bool,
) -> None:
    server, base, _ = scanned
    ids = await library_ids(server)
    os.rename(base / "Music", tmp_path / "music-away")
    (base / "Music").mkdir()  # what a yanked drive leaves: an empty folder
    server.hub.scans.request_all()
    await settle(server)
    assert len(await items(server, library=ids["Music"], kind="track")) == 4
    assert "not mounted" in (server.hub.scans.last["Music"].message or "")


async def test_a_folder_named_twice_or_inside_another_is_walked_once(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The watcher, and a scan resumed after a full disk, may name the same folder twice or a
    folder and one inside it; each new file is still inserted once (it was a UNIQUE error)."""
    base = tmp_path / "media"
    (base / "Videos").mkdir(parents=True)
    server = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Home Videos, kind: videos, paths: ['{base}/Videos']}}\n"
    )
    await settle(server)
    video(base / "Videos", "Trip/day1.mp4")
    video(base / "Videos", "Trip/Beach/day2.mp4")
    trip = str(base / "Videos" / "Trip")
    [source] = server.hub.sources.values()
    server.hub.scans.request(source.source_id, [trip, trip, f"{trip}/Beach"])
    await settle(server)
    assert server.hub.scans.last["Home Videos"].state == "done"
    assert sorted(i["title"] for i in await items(server, kind="video")) == ["day1", "day2"]


async def test_a_folder_scan_after_its_last_file_went_removes_it_unless_the_drive_is_gone(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The watcher scans only the folder that changed. When a movie's only file is deleted that
    folder walks empty, which is a deletion, not a yanked drive; an emptied library folder
    (what an unmounted drive leaves) still keeps its items."""
    movies = tmp_path / "Movies"
    video(movies, "Heat (1995)/Heat (1995).mkv")
    video(movies, "Ran (1985)/Ran (1985).mkv")
    server = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await settle(server)
    [source] = server.hub.sources.values()
    (movies / "Heat (1995)" / "Heat (1995).mkv").unlink()
    server.hub.scans.request(source.source_id, [str(movies / "Heat (1995)")])
    await settle(server)
    assert [i["title"] for i in await items(server, kind="movie")] == ["Ran"]

    (movies / "Heat (1995)").rmdir()
    shutil.move(movies / "Ran (1985)", tmp_path / "away")
    server.hub.scans.request(source.source_id, [str(movies / "Ran (1985)")])
    await settle(server)
    assert [i["title"] for i in await items(server, kind="movie")] == ["Ran"]
    assert "not mounted" in (server.hub.scans.last["Movies"].message or "")
