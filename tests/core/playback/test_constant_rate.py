"""The constant-rate progressive stream's arithmetic and plumbing: the rate and length a plan
gets, the exact byte window cut from ffmpeg's output, the ffmpeg line, a client's newer request
taking over its older stream's slot on a full box, and a stop that finishes even when nobody
reads the pipe (ffmpeg blocked writing, asyncio not seeing the exit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from core.http.errors import ApiError
from core.playback.constant_rate import (
    NULL_PACKET,
    PACKET,
    ConstantRate,
    constant_rate,
    exact_window,
)
from core.playback.ffmpeg_args import EncoderSettings, FfmpegProcess, StreamStart
from core.playback.ffmpeg_args import progressive_command as command
from core.playback.progressive import ProgressiveStreams
from tests.core.playback.test_hls import copy_plan, encode_plan
from tests.core.playback.test_sessions import CountingCapacity

PROBE = {
    "bit_rate": 5_000_000,
    "streams": [
        {"kind": "video", "index": 0, "codec": "hevc", "width": 1920, "height": 1080},
        {"kind": "audio", "index": 1, "codec": "ac3", "channels": 6, "bit_rate": 448_000},
    ],
}


async def pieces(data: bytes, size: int) -> AsyncGenerator[bytes, None]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


async def window(chunks: AsyncGenerator[bytes, None], skip: int, length: int) -> bytes:
    return b"".join([piece async for piece in exact_window(chunks, skip, length)])


def test_a_plan_gets_a_muxrate_of_whole_packets_and_a_length_of_whole_packets() -> None:
    plan = encode_plan(max_height=720)
    encoded = constant_rate(plan, PROBE, 100.0)
    assert encoded is not None
    assert encoded.muxrate % (8 * PACKET) == 0 and encoded.size % PACKET == 0
    assert encoded.video_bitrate == 3_000_000  # the plan's own rate for 720p, encoder held to it
    assert encoded.muxrate > encoded.video_bitrate + plan.audio.bitrate  # and the TS headers
    assert encoded.size >= encoded.bytes_per_second * 100
    copied = constant_rate(copy_plan(), PROBE, 100.0)
    assert copied is not None and copied.muxrate > 1.5 * 5_000_000  # headroom over the average
    assert constant_rate(copy_plan(), PROBE, None) is None  # no duration: no length
    rate = ConstantRate(8 * PACKET * 1000, 1, PACKET * 100_000)
    assert rate.packet_at(PACKET * 5 + 7) == PACKET * 5
    assert rate.seconds_at(PACKET * 1500 + 7) == 1.5


async def test_the_window_skips_into_a_packet_cuts_at_its_end_and_pads_with_null_packets() -> None:
    stream = bytes(range(256)) * 47  # 64 packets' worth of "ffmpeg output"
    assert len(stream) % PACKET == 0
    padded = stream + NULL_PACKET * 10
    assert await window(pieces(stream, 1000), 77, 500) == stream[77:577]
    assert (
        await window(pieces(stream, 1000), 77, len(stream) + 600)
        == padded[77 : 77 + 600 + len(stream)]
    )
    # ffmpeg ended (or never began) before the window: padding, still on packet boundaries
    assert await window(pieces(b"", 1), 77, 400) == (NULL_PACKET * 3)[77:477]


def test_the_constant_rate_command_pads_to_the_muxrate_and_keeps_the_items_clock() -> None:
    rate = ConstantRate(4_000_000, 3_000_000, 188_000_000)
    start = StreamStart(42.5, 42.5)
    argv = command(
        "ffmpeg", "in.mkv", encode_plan(max_height=720), PROBE, EncoderSettings(), start, rate
    )
    assert argv[argv.index("-muxrate") + 1] == "4000000"
    assert argv[argv.index("-output_ts_offset") + 1] == "42.500000"
    for option in ("-b:v", "-maxrate", "-bufsize"):
        assert argv[argv.index(option) + 1] == "3000000"
    assert "-crf" not in argv  # the bits are sent anyway: spent on the picture
    plain = command(
        "ffmpeg", "in.mkv", encode_plan(max_height=720), PROBE, EncoderSettings(), start
    )
    assert "-muxrate" not in plain and "-output_ts_offset" not in plain


async def test_a_newer_request_of_the_same_client_takes_over_its_slot_on_a_full_box(
    tmp_path: Path,
) -> None:
    streams, capacity = ProgressiveStreams(), CountingCapacity()
    endless = ["yes", "0123456789abcdef"]
    film = tmp_path / "film"  # each run opens its checked source, though `yes` never reads it
    film.write_bytes(b"\x47" * 188)
    film = film.resolve()
    older = streams.stream(endless, capacity, True, film, "tv film")
    async with contextlib.aclosing(older):
        assert await anext(older)
        stranger = streams.stream(endless, capacity, True, film, "phone film")
        with pytest.raises(ApiError) as refused:
            await anext(stranger)
        assert refused.value.status == 503  # another client's stream is never ended
        newer = streams.stream(endless, capacity, True, film, "tv film")
        async with contextlib.aclosing(newer):
            assert await anext(newer)  # the older one gave its slot up
            assert capacity.in_use == 1.0
            with pytest.raises(ApiError) as replaced:
                async for _ in older:
                    pass
            assert replaced.value.status == 409 and replaced.value.code == "replaced"
    assert capacity.in_use == 0


async def test_stopping_a_process_nobody_reads_finishes() -> None:
    """`yes` ignoring SIGTERM fills the pipe and asyncio's buffer, then gets SIGKILL: its exit
    is only seen once the pipe is read to its end, which stop() does."""
    run = await FfmpegProcess.start(["sh", "-c", "trap '' TERM; exec yes"], stdout=True)
    assert run.stdout is not None and await run.stdout.read(1024)
    await asyncio.wait_for(run.stop(), 30)  # a guard against hanging, not a timing assertion
    assert run.returncode is not None
