"""Transcode scratch: in the service's runtime folder (tmpfs) when it has one, bounded in size.

A full scratch space refuses a new stream with a sentence; a nearly full one keeps each run
only two segments ahead of its player, so a Pi's /run (RAM) is never filled by read-ahead.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from core.configuration import load_configuration
from core.configuration.core_schema import HearthConfig
from core.playback.scratch import MB, scratch_space_blocking, used_bytes_blocking
from tests.conftest import StartServer, write_config
from tests.core.playback.test_hls import (
    MakeHarness,
    encode_plan,
    ffmpeg_children,
    make_harness,
    media,
)

SHARED_FIXTURES = (make_harness, media)  # pytest finds fixtures by name in this module


def hearth_config(tmp_path: Path, extra: str = "") -> HearthConfig:
    text = f"hearth:\n  data_dir: {tmp_path / 'data'}\n{extra}"
    return load_configuration(write_config(tmp_path / "config", text)).hearth


def test_scratch_goes_to_the_runtime_folder_when_the_service_has_one(tmp_path: Path) -> None:
    hearth = hearth_config(tmp_path)
    runtime = tmp_path / "run"
    runtime.mkdir()
    space = scratch_space_blocking(hearth, {"RUNTIME_DIRECTORY": str(runtime)})
    assert space.folder == runtime / "transcode"
    stats = os.statvfs(runtime)
    assert space.limit_bytes == min(1024 * MB, stats.f_blocks * stats.f_frsize // 2)
    assert scratch_space_blocking(hearth, {}).folder == tmp_path / "data" / "transcode"


def test_a_configured_scratch_folder_and_bound_win(tmp_path: Path) -> None:
    chosen = tmp_path / "fast-disk"
    hearth = hearth_config(tmp_path, f"  scratch_dir: {chosen}\n  scratch_max_mb: 3\n")
    space = scratch_space_blocking(hearth, {"RUNTIME_DIRECTORY": str(tmp_path)})
    assert (space.folder, space.limit_bytes) == (chosen, 3 * MB)


async def test_the_server_puts_transcode_scratch_under_runtime_directory(
    tmp_path: Path, start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(runtime))
    hub = (await start_server()).hub
    assert hub.playback is not None
    assert hub.playback.manager.scratch_dir == runtime / "transcode"
    assert hub.playback.manager.scratch_limit is not None


async def test_a_full_scratch_space_refuses_a_new_stream(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness(scratch_limit=MB)
    harness.add("small", media["small"], encode_plan())
    leftover = tmp_path / "scratch" / "another-session"
    leftover.mkdir(parents=True)
    (leftover / "0.ts").write_bytes(bytes(MB))
    async with harness.client.get("/api/items/small/hls/master.m3u8") as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "30"
        error = (await response.json())["error"]
    assert error == {
        "code": "scratch_full",
        "message": "The transcode scratch space (1 MB) is full; "
        "try again when another stream has ended.",
    }
    assert not harness.manager.sessions and not ffmpeg_children()


async def test_a_nearly_full_scratch_space_reads_only_two_segments_ahead(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    # 60 s of read-ahead would never pause on this 8 s clip; a tight scratch space does
    harness = await make_harness(scratch_limit=4 * MB, segment_seconds=0.5, buffer_seconds=60)
    harness.add("small", media["small"], encode_plan())
    filler = tmp_path / "scratch" / "another-session"
    filler.mkdir(parents=True)
    (filler / "0.ts").write_bytes(bytes(int(3.5 * MB)))
    session_id, _ = await harness.master("small")
    session = harness.manager.sessions[0]
    assert await harness.manager.scratch_tight()
    deadline = asyncio.get_running_loop().time() + 10
    while not session.paused:  # pace by hand: the janitor's 1 s tick is slower than ffmpeg
        assert asyncio.get_running_loop().time() < deadline
        session.maintain(await harness.manager.scratch_tight())
        await asyncio.sleep(0.005)
    written = sorted(p.name for p in session.folder.glob("*.ts"))
    assert len(written) <= 5, written  # the player is at 0: 2 ahead, one being written
    last = session.timeline.count - 1
    await harness.get(f"/api/items/small/hls/{session_id}/{last}.ts")
    assert used_bytes_blocking(tmp_path / "scratch") < 4 * MB
    assert await harness.manager.stop(session_id)
    assert not ffmpeg_children()
