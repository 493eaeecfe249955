"""The byte-seekable progressive MPEG-TS: a constant byte rate, so every byte offset is a time.

TVs that seek only by byte Range (GStreamer's, so gmediarender and many Linux TVs) need a length
up front and a way from a byte to a time. The progressive transcode is therefore made at one
constant rate: encoded video is held to a bitrate (a one-second VBV buffer), copied streams get
headroom over their average, and ffmpeg's MPEG-TS muxer pads with null packets up to a fixed
`-muxrate`, writing a PCR that is the byte count over that rate. Byte n of the stream is at
n / bytes_per_second whichever ffmpeg run made it, and the advertised length is that rate times
the duration plus a tail of padding. A range from byte n is ffmpeg started at that time, on the
188-byte packet boundary at or before n (the bytes of that packet before n are dropped), with
timestamps that continue the item's clock (`-output_ts_offset`), so a demuxer mapping time to
bytes by PCR finds what it expects; `exact_window` cuts or pads the answer to exactly the bytes
asked. Pure arithmetic and one async generator: it never starts ffmpeg and never serves HTTP.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from core.playback.ffmpeg_args import audio_bitrate, default_bitrate, video_output
from core.playback.plan import PlaybackPlan

PACKET = 188
NULL_PACKET = b"\x47\x1f\xff\x10" + b"\xff" * (PACKET - 4)
"""An MPEG-TS null packet (PID 0x1FFF): every demuxer skips it, as the muxer's own padding."""
TS_OVERHEAD = 1.06
"""MPEG-TS packet and PES headers over the streams' own bitrates: measured 4 % (4 Mbit/s
video) to 8 % (1 Mbit/s) with the fixed tables below, plus room for the VBV's short peaks."""
TABLES_BITS = 64_000
"""PAT, PMT and SDT, repeated ten times a second, and PCR-only packets: ~35 kbit/s measured."""
COPY_HEADROOM = 1.5
"""Copied video's peaks over its average. A peak above the muxrate only delays the content
behind the PCR for a while (the PCR still counts bytes, so offsets still map to time)."""
AUDIO_HEADROOM = 1.2
"""Copied audio is near its average: AC3, E-AC3 and MP2 are constant, AAC and MP3 vary a little."""
TAIL_SECONDS = 2.0
"""Padding after the last frame: the muxer's own delay, and a copied stream's late bytes."""


@dataclass(frozen=True, slots=True)
class ConstantRate:
    """One item's byte-seekable stream: its muxrate (bits/s), the bitrate encoded video is held
    to, and the length every answer agrees on."""

    muxrate: int
    video_bitrate: int
    size: int

    @property
    def bytes_per_second(self) -> int:
        return self.muxrate // 8

    def packet_at(self, offset: int) -> int:
        """The start of the packet holding byte `offset`."""
        return offset - offset % PACKET

    def seconds_at(self, offset: int) -> float:
        """The time at the start of the packet holding byte `offset`."""
        return self.packet_at(offset) / self.bytes_per_second


def constant_rate(
    plan: PlaybackPlan, probe: Mapping[str, Any], duration: float | None
) -> ConstantRate | None:
    """The constant-rate stream for this plan, or None when the duration is unknown."""
    if not duration or duration <= 0:
        return None
    out = video_output(plan, probe)
    video = 0
    encode_at = 0
    if out is not None and out.copy:
        video = math.ceil(out.bitrate * COPY_HEADROOM)
        # a seek into a file with no keyframe index re-encodes (core.playback.seek): within budget
        encode_at = min(out.bitrate, default_bitrate(out.height or 1080))
    elif out is not None:
        video = encode_at = out.bitrate
    audio = audio_bitrate(plan, probe)
    if plan.audio.action == "copy":
        audio = math.ceil(audio * AUDIO_HEADROOM)
    bits = math.ceil((video + audio) * TS_OVERHEAD) + TABLES_BITS
    muxrate = -(-bits // (8 * PACKET)) * 8 * PACKET  # whole packets a second: exact arithmetic
    packets = math.ceil(muxrate / 8 * (duration + TAIL_SECONDS) / PACKET)
    return ConstantRate(muxrate, encode_at, packets * PACKET)


async def exact_window(
    chunks: AsyncIterator[bytes], skip: int, length: int
) -> AsyncGenerator[bytes, None]:
    """Exactly `length` bytes of `chunks` after its first `skip`: cut where the range ends, and
    padded with null packets when ffmpeg ends early (`chunks` is whole packets, so the padding
    stays on packet boundaries)."""
    sent = 0
    async for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        piece = memoryview(chunk)[skip : skip + length - sent]
        skip = 0
        sent += len(piece)
        yield bytes(piece)
        if sent >= length:
            return
    padding = memoryview(NULL_PACKET * 256)
    phase = skip  # what is left to drop when ffmpeg ended (or never began) before the range
    while sent < length:
        tail = padding[phase : phase + length - sent]
        phase = 0
        sent += len(tail)
        yield bytes(tail)
