"""Phone-sized copies yield to live streams: a copy waits while live transcodes leave no room
for a whole stream beside them, is paused (SIGSTOP) when they take the room mid-way, and goes
on to a finished file when they are done; a copy nobody waits for any more is deleted."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from core.downloads import copies
from core.downloads.copies import CopyMaker, copy_name
from core.playback.capacity import TranscodeCapacity
from tests.core.playback.films import make_film

FFMPEG = Path(shutil.which("ffmpeg") or "/usr/bin/ffmpeg")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("copy-source")
    return make_film(folder / "Long Film (2020).mp4", 20, size=(960, 540))


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll a state the maker has no event for (it polls the capacity the same way)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.02)


def stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("T")


async def test_a_copy_waits_for_room_pauses_for_live_streams_then_finishes(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(copies, "ROOM_EVERY", 0.05)
    capacity = TranscodeCapacity(1.0)
    live = capacity.acquire(encodes_video=True)  # a viewer's transcode takes the only slot
    maker = CopyMaker(FFMPEG, tmp_path / "downloads", capacity, "ultrafast")
    stat = source.stat()
    name = copy_name("film", "480p", stat.st_size, stat.st_mtime_ns)
    job = maker.want(name, source, "480p", 20.0)
    try:
        await until(lambda: job.state == "waiting")
        await asyncio.sleep(0.2)  # several capacity polls: still waiting, no ffmpeg yet
        assert job.state == "waiting" and maker._current is None
        capacity.release(live)
        await until(lambda: job.state == "making" and maker._current is not None)
        process = maker._current
        assert process is not None
        live = capacity.acquire(encodes_video=True)  # another viewer starts meanwhile
        await until(lambda: job.state == "paused" and stopped(process.pid))
        capacity.release(live)
        await until(lambda: job.state != "paused")
        await job.done.wait()
        assert job.state == "ready" and (tmp_path / "downloads" / name).is_file()
        assert maker.jobs() == [job]
        maker.drop(keep={("film", "480p")})
        assert (tmp_path / "downloads" / name).is_file()
        maker.drop(keep=set())  # nobody waits for it any more
        assert list((tmp_path / "downloads").iterdir()) == [] and maker.jobs() == []
    finally:
        await maker.close()


async def test_a_copy_that_cannot_be_made_says_why_and_is_not_tried_again_at_each_ask(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "Broken (2020).mp4"
    broken.write_bytes(b"not a film at all" * 100)
    maker = CopyMaker(FFMPEG, tmp_path / "downloads", TranscodeCapacity(1.0), "ultrafast")
    try:
        job = maker.want("broken~720p~1-1.mp4", broken, "720p", 10.0)
        await job.done.wait()
        assert job.state == "failed" and job.error
        assert maker.want("broken~720p~1-1.mp4", broken, "720p", 10.0) is job
        assert list((tmp_path / "downloads").iterdir()) == []  # no half-made file is left
    finally:
        await maker.close()


async def test_a_copy_is_not_made_onto_a_disk_without_room_for_it(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(copies, "KEEP_FREE", shutil.disk_usage(tmp_path).free)
    maker = CopyMaker(FFMPEG, tmp_path / "downloads", TranscodeCapacity(1.0), "ultrafast")
    try:
        job = maker.want("film~1080p~1-1.mp4", source, "1080p", 20.0)
        await job.done.wait()
        assert job.state == "failed" and maker._current is None
        assert job.error is not None
        assert job.error.startswith(
            "The server's disk has too little room for this copy (about 13 MB, and "
        )
    finally:
        await maker.close()
