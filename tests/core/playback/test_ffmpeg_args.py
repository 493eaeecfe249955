"""ffmpeg command lines for plans and encoders, and the child process that runs them."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import psutil
import pytest

from core.playback import ffmpeg_args
from core.playback.ffmpeg_args import (
    CUT_EPSILON,
    EncoderSettings,
    FfmpegProcess,
    StreamStart,
    hls_run_command,
    output_size,
    progressive_command,
    webvtt_command,
)
from core.playback.hls import SegmentTimeline
from core.playback.plan import AudioPlan, PlaybackPlan, VideoPlan
from hardware.encoders import EncoderCapability, Resolution

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
PROBE: dict[str, Any] = {
    "duration": 10.0,
    "bit_rate": 4_000_000,
    "streams": [
        {"index": 0, "kind": "video", "codec": "h264", "width": 1920, "height": 1080,
         "frame_rate": 25.0, "profile": "High"},
        {"index": 1, "kind": "audio", "codec": "ac3", "channels": 6, "sample_rate": 96_000},
    ],
}  # fmt: skip
ENCODE = PlaybackPlan(
    "transcode", (), "hls", VideoPlan("encode", 0, max_height=720), AudioPlan("encode", 1)
)
COPY = PlaybackPlan("direct_stream", (), "hls", VideoPlan("copy", 0), AudioPlan("copy", 1))


def after(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_output_size_keeps_shape_and_even_sides() -> None:
    assert output_size(1920, 1080, None, 720) == (1280, 720)
    assert output_size(1440, 1080, None, 720) == (960, 720)
    assert output_size(1920, 800, 1280, 720) == (1280, 534)
    assert output_size(640, 360, 1920, 1080) == (640, 360)  # never upscaled


def test_encode_run_seeks_then_forces_keyframes_on_the_segment_grid(tmp_path: Path) -> None:
    timeline = SegmentTimeline.uniform(10.0, 2.0)
    settings = EncoderSettings.for_encoder("libx264", preset="ultrafast")
    argv, last = hls_run_command(
        FFMPEG, "/m/a.mkv", ENCODE, PROBE, settings, timeline, 2, tmp_path, 2.0
    )
    assert last == 4
    assert argv.index("-ss") < argv.index("-i") and after(argv, "-ss") == "4.000000"
    assert after(argv, "-output_ts_offset") == "4.000000"
    assert after(argv, "-nostdin") == "-nostats" and after(argv, "-loglevel") == "error"
    assert after(argv, "-vf") == "scale=1280:720,format=yuv420p"
    assert after(argv, "-c:v") == "libx264" and after(argv, "-preset") == "ultrafast"
    assert after(argv, "-force_key_frames") == "expr:gte(t,n_forced*2)"
    assert (after(argv, "-c:a"), after(argv, "-ac"), after(argv, "-ar")) == ("aac", "2", "48000")
    assert after(argv, "-segment_times") == "5.999500,7.999500"
    assert after(argv, "-segment_start_number") == "2"
    assert argv[-1] == str(tmp_path / "%d.ts") and "-t" not in argv
    assert after(argv, "-individual_header_trailer") == "0"  # one muxer: counters carry on
    assert after(argv, "-segment_format_options") == (
        "avoid_negative_ts=disabled:mpegts_flags=+initial_discontinuity"
    )  # a run that starts mid-item says so


def test_copy_run_seeks_by_source_timestamp_past_the_keyframe(tmp_path: Path) -> None:
    timeline = SegmentTimeline((0.021, 2.981, 5.941), 10.0, seek_bias=3 / 23)
    argv, _ = hls_run_command(
        FFMPEG, "/m/a.mkv", COPY, PROBE, EncoderSettings(), timeline, 1, tmp_path, 2.0
    )
    assert after(argv, "-seek_timestamp") == "1"
    assert float(after(argv, "-ss")) == pytest.approx(2.981 + CUT_EPSILON + 3 / 23, abs=1e-6)
    assert after(argv, "-ss") == after(argv, "-output_ts_offset")
    assert (after(argv, "-c:v"), after(argv, "-c:a")) == ("copy", "copy")
    assert "-force_key_frames" not in argv and "-vf" not in argv
    assert after(argv, "-segment_times") == "5.940500"


def test_single_segment_run_still_lists_a_cut(tmp_path: Path) -> None:
    argv, _ = hls_run_command(
        FFMPEG, "a.mp4", ENCODE, PROBE, EncoderSettings(), SegmentTimeline.uniform(3.0, 4.0),
        0, tmp_path, 4.0,
    )  # fmt: skip
    assert "-ss" not in argv
    assert float(after(argv, "-segment_times")) > 3.0  # else the muxer cuts every 2 s
    assert after(argv, "-segment_format_options") == "avoid_negative_ts=disabled"


def test_long_item_is_produced_in_bounded_runs(tmp_path: Path) -> None:
    timeline = SegmentTimeline.uniform(12 * 3600.0, 2.0)
    argv, last = hls_run_command(
        FFMPEG, "a.mp4", ENCODE, PROBE, EncoderSettings(), timeline, 10, tmp_path, 2.0
    )
    assert last == 10 + ffmpeg_args.MAX_RUN_SEGMENTS - 1
    assert float(after(argv, "-t")) == pytest.approx((last + 1 - 10) * 2.0 - CUT_EPSILON)
    assert max(len(arg.encode()) for arg in argv) < 128 * 1024


def test_hardware_encoders_get_their_device_and_upload(tmp_path: Path) -> None:
    vaapi = EncoderSettings.for_encoder("h264_vaapi", device="/dev/dri/renderD129")
    argv, _ = hls_run_command(
        FFMPEG, "a.mp4", ENCODE, PROBE, vaapi, SegmentTimeline.uniform(10, 2), 0, tmp_path, 2.0
    )
    assert argv.index("-vaapi_device") < argv.index("-i")
    assert after(argv, "-vaapi_device") == "/dev/dri/renderD129"
    assert after(argv, "-vf") == "scale=1280:720,format=nv12,hwupload"
    assert after(argv, "-b:v") == "3000000" and "-preset" not in argv
    pi = EncoderCapability(
        "h264_v4l2m2m", "h264", "v4l2m2m", "/dev/video11", True, None, 0.5,
        Resolution(1920, 1080), 1, None,
    )  # fmt: skip
    argv, _ = hls_run_command(
        FFMPEG, "a.mp4", ENCODE, PROBE, EncoderSettings.from_capability(pi),
        SegmentTimeline.uniform(10, 2), 0, tmp_path, 2.0,
    )  # fmt: skip
    assert after(argv, "-c:v") == "h264_v4l2m2m" and after(argv, "-g") == "50"
    with pytest.raises(ValueError):
        EncoderSettings.from_capability(
            EncoderCapability("h264_nvenc", "h264", "nvenc", None, False, "no", 0, None, None, None)
        )


def test_progressive_and_subtitle_commands() -> None:
    start = StreamStart(12.5, 12.5)
    argv = progressive_command(FFMPEG, "a.mp4", ENCODE, PROBE, EncoderSettings(), start)
    assert after(argv, "-ss") == "12.500000" and argv[-3:] == ["-f", "mpegts", "pipe:1"]
    assert "-seek_timestamp" not in argv and "-copypriorss:a" not in argv  # all decoded
    keyframe = StreamStart(10.0, 10.0 + CUT_EPSILON, source_times=True)
    argv = progressive_command(FFMPEG, "a.mkv", COPY, PROBE, EncoderSettings(), keyframe)
    assert argv.index("-seek_timestamp") < argv.index("-ss") < argv.index("-i")
    assert after(argv, "-copypriorss:a") == "0"  # copied audio starts with the video
    audio_only = PlaybackPlan("transcode", (), "mpegts", audio=AudioPlan("encode", 1))
    assert "-vn" in progressive_command(FFMPEG, "a.flac", audio_only, {}, EncoderSettings())
    vtt = webvtt_command(FFMPEG, "a.mkv", 3, Path("s.vtt"), source_times=True)
    assert "-copyts" in vtt and after(vtt, "-map") == "0:3" and vtt[-1] == "s.vtt"


async def test_ffmpeg_runs_niced_and_stops_on_request() -> None:
    endless = [FFMPEG, *ffmpeg_args.BASE_ARGS, "-re", "-f", "lavfi", "-i", "testsrc2"]
    endless += ["-f", "null", "-"]
    run = await FfmpegProcess.start(endless)
    child = psutil.Process(run.pid)
    assert child.nice() == ffmpeg_args.NICENESS
    run.pause()
    await run.stop()  # continued, then terminated
    assert run.returncode is not None and not psutil.pid_exists(run.pid)


async def test_stop_escalates_to_sigkill(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ffmpeg_args, "STOP_GRACE_S", 0.2)
    stubborn = await FfmpegProcess.start(["sh", "-c", "trap '' TERM; exec sleep 30"])
    await asyncio.sleep(0.1)  # let the shell install its trap
    await stubborn.stop()
    assert stubborn.returncode == -9
    with pytest.raises(ProcessLookupError):
        os.kill(stubborn.pid, 0)
