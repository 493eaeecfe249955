"""Live updates: files added, renamed and deleted in a watched folder show in the API within
seconds, without anybody asking for a scan."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import video
from tests.core.scan.test_scanner import items, settle


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> float:
    """Poll `check` until true; returns how long it took (fails after `seconds`)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while loop.time() - began < seconds:
        if await check():
            return loop.time() - began
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true within {seconds} s")


async def titles(server: RunningServer) -> dict[str, str]:
    return {m["title"]: m["id"] for m in await items(server, kind="movie")}


async def test_added_renamed_and_deleted_files_are_reflected_within_seconds(
    start_server: StartServer, tmp_path: Path
) -> None:
    movies = tmp_path / "Movies"
    video(movies, "Heat (1995)/Heat (1995).mkv")
    server = await start_server(
        f"folders:\n  libraries:\n    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await settle(server)
    assert set(await titles(server)) == {"Heat"}

    video(movies, "Ran (1985)/Ran (1985).mkv")

    async def added() -> bool:
        return "Ran" in await titles(server)

    took = await eventually(added)
    assert took < 5.0
    ran = (await titles(server))["Ran"]

    os.rename(movies / "Ran (1985)", movies / "Ran (1985) remastered")

    async def renamed() -> bool:
        last = server.hub.scans.last.get("Movies")
        moved = last is not None and last.moved == 1 and server.hub.scans.current is None
        return moved and (await titles(server)).get("Ran") == ran

    await eventually(renamed)

    (movies / "Heat (1995)" / "Heat (1995).mkv").unlink()

    async def deleted() -> bool:
        return "Heat" not in await titles(server)

    await eventually(deleted)
    assert (await titles(server)) == {"Ran": ran}


def test_changed_folders_are_collapsed_to_the_outermost(tmp_path: Path) -> None:
    from plugins.folders.watcher import Change, changed_folders

    root = tmp_path
    changes = {
        (Change.added, str(root / "A" / "x.mkv")),
        (Change.added, str(root / "A" / "sub" / "y.mkv")),
        (Change.deleted, str(root / "B" / "z.mkv")),
        (Change.added, str(root / ".hidden" / "q.mkv")),
        (Change.added, "/elsewhere/file.mkv"),
    }
    assert changed_folders(changes, [root]) == [str(root / "A"), str(root / "B")]
