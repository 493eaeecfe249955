"""Session life and death: stop, idle, failure, capacity, pacing, progressive MPEG-TS.

Each test ends by proving nothing is left: no ffmpeg child of this process, no scratch files.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from core.http.errors import ApiError
from tests.core.media.mediagen import make_video
from tests.core.playback.test_hls import (
    MakeHarness,
    codecs_of,
    copy_plan,
    encode_plan,
    ffmpeg_children,
    ffprobe,
    make_harness,
    media,
    video_of,
)

SHARED_FIXTURES = (make_harness, media)  # pytest finds fixtures by name in this module


async def eventually(condition: object, timeout: float = 5.0) -> None:
    """Wait for a condition the server reaches on its own (a janitor tick, a process exit)."""
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.05)


def scratch_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "scratch").rglob("*") if p.is_file()]


class CountingCapacity:
    """A limiter like the real one: encodes weigh 1, copies 0.25, limit 1."""

    def __init__(self) -> None:
        self.in_use = 0.0

    def acquire(self, encodes_video: bool) -> float:
        weight = 1.0 if encodes_video else 0.25
        if self.in_use + weight > 1.0:
            raise ApiError(503, "Busy.", "transcode_capacity", **{"Retry-After": "60"})
        self.in_use += weight
        return weight

    def release(self, weight: float) -> None:
        self.in_use -= weight


async def test_stopping_a_session_kills_ffmpeg_and_removes_its_folder(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness()
    harness.add("hd", media["hd"], encode_plan(max_height=720))
    session_id, _ = await harness.master("hd")
    assert ffmpeg_children()
    async with harness.client.delete(f"/api/items/hd/hls/{session_id}") as response:
        assert response.status == 204
    assert not ffmpeg_children()
    assert not (tmp_path / "scratch" / session_id).exists()
    await harness.get(f"/api/items/hd/hls/{session_id}/index.m3u8", status=404)


async def test_idle_session_is_reaped(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness(idle_timeout=0.4)
    harness.add("small", media["small"], encode_plan())
    session_id, _ = await harness.master("small")
    await harness.get(f"/api/items/small/hls/{session_id}/0.ts")
    await eventually(lambda: not harness.manager.sessions)
    assert not ffmpeg_children()
    assert not scratch_files(tmp_path)


async def test_a_different_quality_replaces_the_clients_session(
    make_harness: MakeHarness, media: dict[str, Path]
) -> None:
    harness = await make_harness()
    harness.add("small", media["small"], copy_plan())
    first, _ = await harness.master("small")
    second, text = await harness.master("small", "?quality=120p")
    assert second != first and "RESOLUTION=160x120" in text
    assert [s.id for s in harness.manager.sessions] == [second]


async def test_corrupt_input_gives_a_json_error_and_a_warning(
    make_harness: MakeHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness()
    path = make_video(tmp_path / "broken.mkv", 1.0)
    harness.add("broken", path, encode_plan())
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64)  # Matroska magic, then junk
    session_id, _ = await harness.master("broken")
    async with harness.client.get(f"/api/items/broken/hls/{session_id}/0.ts") as response:
        assert response.status == 500
        error = (await response.json())["error"]
    assert error["code"] == "transcode_failed"
    assert error["message"].startswith("The transcode failed: ")
    warnings = [r for r in caplog.records if r.name == "hearth.playback"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "broken.mkv" in warnings[0].getMessage()
    await eventually(lambda: not ffmpeg_children())
    assert not scratch_files(tmp_path)


async def test_over_capacity_is_503_with_retry_after(
    make_harness: MakeHarness, media: dict[str, Path]
) -> None:
    capacity = CountingCapacity()
    harness = await make_harness(capacity=capacity)
    harness.add("hd", media["hd"], encode_plan(max_height=720))
    harness.add("small", media["small"], copy_plan())
    first, _ = await harness.master("hd", **{"User-Agent": "tv"})
    async with harness.client.get(
        "/api/items/hd/hls/master.m3u8", headers={"User-Agent": "phone"}
    ) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "60"
        assert (await response.json())["error"]["code"] == "transcode_capacity"
    stop = f"/api/items/hd/hls/{first}"
    async with harness.client.delete(stop, headers={"User-Agent": "tv"}) as response:
        assert response.status == 204  # only the client that opened it may stop it
    assert capacity.in_use == 0
    await harness.master("small", **{"User-Agent": "phone"})
    assert capacity.in_use == 0.25  # a remux weighs a quarter
    await harness.manager.close()
    assert capacity.in_use == 0


async def test_run_far_ahead_of_the_player_is_paused_and_resumed(
    make_harness: MakeHarness, media: dict[str, Path]
) -> None:
    harness = await make_harness(segment_seconds=0.5, buffer_seconds=1.0)
    harness.add("small", media["small"], encode_plan())
    session_id, _ = await harness.master("small")
    session = harness.manager.sessions[0]
    deadline = asyncio.get_running_loop().time() + 5
    while not session.paused:  # pace by hand: the janitor's 1 s tick is slower than ffmpeg
        assert asyncio.get_running_loop().time() < deadline
        session.maintain()
        await asyncio.sleep(0.005)
    last = session.timeline.count - 1
    assert not session.segment_path(last).exists()
    await harness.get(f"/api/items/small/hls/{session_id}/{last}.ts")
    assert session.run_starts == [0]  # resumed, not restarted
    assert await harness.manager.stop(session_id)
    assert not ffmpeg_children()


async def test_progressive_ts_decodes_from_the_start_position(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness()
    harness.add("hd", media["hd"], encode_plan(max_height=720))
    async with harness.client.get("/api/items/hd/transcode.ts?start=0.5") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "video/mp2t"
        assert response.headers["Transfer-Encoding"] == "chunked"
        body = await response.read()
    (tmp_path / "out.ts").write_bytes(body)
    info = ffprobe(tmp_path / "out.ts")
    assert codecs_of(info) == {"h264", "aac"}
    assert video_of(info)["height"] == 720
    assert float(info["format"]["duration"]) == pytest.approx(1.5, abs=0.3)
    assert not ffmpeg_children()


async def test_progressive_ts_stops_ffmpeg_when_the_client_leaves(
    make_harness: MakeHarness, media: dict[str, Path]
) -> None:
    capacity = CountingCapacity()
    harness = await make_harness(capacity=capacity)
    harness.add("hd", media["hd"], encode_plan(max_height=720))
    response = await harness.client.get("/api/items/hd/transcode.ts")
    assert response.status == 200
    assert await response.content.read(1024)
    response.close()  # hang up mid-stream
    await eventually(lambda: not ffmpeg_children() and capacity.in_use == 0)


async def test_progressive_ts_of_a_corrupt_file_is_a_json_error(
    make_harness: MakeHarness, tmp_path: Path
) -> None:
    harness = await make_harness()
    path = make_video(tmp_path / "broken.mp4", 1.0)
    harness.add("broken", path, encode_plan())
    path.write_bytes(bytes(4096))
    async with harness.client.get("/api/items/broken/transcode.ts") as response:
        assert response.status == 500
        assert (await response.json())["error"]["code"] == "transcode_failed"
    await harness.get("/api/items/broken/transcode.ts?start=-1", status=400)
    assert not ffmpeg_children()
