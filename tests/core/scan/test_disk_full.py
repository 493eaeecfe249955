"""A full disk: writes answer 507 with a sentence, nothing saved before is lost, and a scan the
full disk stopped resumes by itself once space returns.

The data folder is a real 16 MiB tmpfs (mounting it needs root; the tests skip without), filled
to the last page by a file; the library itself lives elsewhere, so the watcher still sees new
files. Freeing the file is all the owner does: no rescan is asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.http.errors import DISK_FULL
from core.scan.manager import STALLED
from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import video
from tests.core.scan.test_scanner import items, settle
from tests.plugins.folders.test_watch import eventually


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """The server's data folder (tmp_path/data) on its own small tmpfs."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the data folder needs root")
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(data)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield data
    finally:  # the server has stopped by now (its fixture was set up after this one)
        if subprocess.run(["umount", str(data)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(data)], check=True)


def fill(folder: Path) -> Path:
    """Write a file until the disk has not one page left; answers the file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    with pytest.raises(OSError) as full:
        (folder / "probe").write_bytes(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


async def post(server: RunningServer, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with server.session.post(server.url + path, json=body) as reply:
        return reply.status, await reply.json()


async def playlist_names(server: RunningServer) -> list[str]:
    data = await server.get_json("/api/playlists")
    return sorted(p["name"] for p in data["playlists"])  # type: ignore[attr-defined]


async def titles(server: RunningServer) -> set[str]:
    return {m["title"] for m in await items(server, kind="movie")}


async def full_disk_stops_a_watched_scan(
    small_disk: Path, start_server: StartServer, tmp_path: Path, looks: tuple[float, ...]
) -> tuple[RunningServer, Path, Callable[[], Awaitable[bool]]]:
    """A server whose disk filled up: a playlist made before, a refused one, and a new film
    the watcher's scan could not write; the scans look at the free space after `looks`.
    Answers the server, the filler and a check that the new film is listed."""
    movies = tmp_path / "Movies"
    video(movies, "Heat (1995)/Heat (1995).mkv")
    server = await start_server(
        f"folders:\n  libraries:\n    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await settle(server)
    server.hub.scans.space_retry_delays = looks
    assert (await post(server, "/api/playlists", {"name": "Before"}))[0] in (200, 201)
    filler = fill(small_disk)

    status, body = await post(server, "/api/playlists", {"name": "During"})
    assert (status, body) == (507, {"error": {"code": "disk_full", "message": DISK_FULL}})

    video(movies, "Ran (1985)/Ran (1985).mkv")  # the watcher asks for a scan; it cannot write

    async def stalled() -> bool:
        return bool(server.hub.scans.status()["waiting_for_space"])

    await eventually(stalled, 20.0)
    last = server.hub.scans.status()["last"]["Movies"]
    assert (last["state"], last["message"]) == ("failed", STALLED)
    assert await playlist_names(server) == ["Before"]  # every earlier row is intact
    assert await titles(server) == {"Heat"}
    check = await server.hub.catalog.read(
        lambda db: db.execute("PRAGMA integrity_check").fetchone()
    )
    assert tuple(check) == ("ok",)

    async def ran_listed() -> bool:
        return "Ran" in await titles(server)

    return server, filler, ran_listed


async def test_a_full_disk_answers_507_and_the_stopped_scan_resumes_after_a_write(
    small_disk: Path, start_server: StartServer, tmp_path: Path
) -> None:
    server, filler, ran_listed = await full_disk_stops_a_watched_scan(
        small_disk,
        start_server,
        tmp_path,
        (3600.0,),  # only the write can resume it in time
    )
    filler.unlink()
    assert (await post(server, "/api/playlists", {"name": "After"}))[0] in (200, 201)
    await eventually(ran_listed, 20.0)
    await settle(server)
    assert await titles(server) == {"Heat", "Ran"}
    assert await playlist_names(server) == ["After", "Before"]
    assert server.hub.scans.status()["waiting_for_space"] == []
    assert server.hub.scans.status()["last"]["Movies"]["state"] == "done"


async def test_a_stopped_scan_resumes_once_space_returns_with_nothing_written(
    small_disk: Path, start_server: StartServer, tmp_path: Path
) -> None:
    server, filler, ran_listed = await full_disk_stops_a_watched_scan(
        small_disk,
        start_server,
        tmp_path,
        (0.05,),  # looks at the free space again soon
    )
    await asyncio.sleep(0.2)  # several looks while the disk is still full: nothing resumes
    assert server.hub.scans.status()["waiting_for_space"]
    filler.unlink()
    await eventually(ran_listed, 20.0)
    assert await titles(server) == {"Heat", "Ran"}
