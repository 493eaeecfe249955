"""Byte-seekable TV transcode benchmark: how constant the constant-rate MPEG-TS really is, what
its padding costs, and what its encode costs against today's.

Why: issue 12 asks the DLNA transcode to be seekable by byte Range (GStreamer TVs seek only so),
by a constant-bitrate stream whose offsets map to time or by caching the transcode on disk, and
to choose by measurement. core/playback/constant_rate.py does the first; this measures it:
- Constancy: the stream from 0 as Hearth sends it (ffmpeg's output through the same window code,
  padded to the advertised length), then bytes per second of *content* (from each video frame's
  PTS to the next second's), against the nominal rate; and the drift: for every video frame, its
  byte offset over the rate minus its PTS (how far a byte seek can land from where the PCR says).
- Padding: null packets (the muxer's and the tail's) as a share of all bytes.
- CPU (user + system, ffmpeg and Hearth's own reading): (a) bare ffmpeg doing today's encode of
  the same plan (CRF 23 capped at the plan's bitrate, no muxrate), (b) bare ffmpeg with the
  constant-rate line Hearth builds, (c) Hearth's path in this process: ProgressiveStreams and
  exact_window reading ffmpeg's stdout to the end. Ratios b/a and c/a.
Two films, made once with ffmpeg lavfi into --cache-dir, each half easy (a test card) and half
hard (the same with heavy noise), so the encoder spends both less and all of its budget:
HEVC/AC3 720p MKV (a generic DLNA TV gets H.264 encoded, AC3 copied) and H.264/AAC MKV at
CRF 20 capped at 6 Mbit/s (video copied: a VBR source under the copy headroom). Nothing is
served: no server, no network.
Usage: .venv/bin/python bench/seek.py [--seconds 60] [--runs 1] [--films hevc,h264]
                                      [--cache-dir /var/tmp/hearth-bench]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.media.probe import probe_blocking  # noqa: E402
from core.playback.constant_rate import PACKET, ConstantRate, constant_rate, exact_window  # noqa: E402
from core.playback.decision import decide  # noqa: E402
from core.playback.ffmpeg_args import EncoderSettings, progressive_command  # noqa: E402
from core.playback.plan import PlaybackPlan  # noqa: E402
from core.playback.profiles import load_profiles  # noqa: E402
from core.playback.progressive import ProgressiveStreams  # noqa: E402
from core.playback.sessions import UnlimitedCapacity  # noqa: E402

FFMPEG = "/usr/bin/ffmpeg"
PRESET = "ultrafast" if platform.machine() in ("aarch64", "armv7l") else "veryfast"
TS_OFFSET = 1.4  # what ffmpeg's MPEG-TS muxer adds to every timestamp


def make_film(cache: Path, name: str, seconds: int, video: list[str], audio: list[str]) -> Path:
    """Half a test card, half the same card under heavy noise; made once."""
    path = cache / f"seek-{name}-{seconds}s.mkv"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    print(f"making {path} once…", flush=True)
    half = seconds / 2
    card = f"testsrc2=size=1280x720:rate=25:duration={seconds}"
    noisy = f"[0:v]noise=alls=40:allf=t+u:enable='gte(t,{half})'[v]"
    partial = path.with_suffix(".part.mkv")
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", card,
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-filter_complex", noisy, "-map", "[v]", "-map", "1:a", *video, "-pix_fmt", "yuv420p",
         *audio, "-ac", "2", str(partial)],
        check=True,
    )  # fmt: skip
    partial.rename(path)
    return path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare(argv: list[str]) -> tuple[float, int]:
    """CPU seconds and bytes of one ffmpeg line run to the end, its output counted and dropped."""
    before = children_cpu()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert process.stdout is not None
    total = 0
    while chunk := process.stdout.read(1 << 16):
        total += len(chunk)
    if process.wait() != 0:
        raise RuntimeError(f"ffmpeg failed: {argv}")
    return children_cpu() - before, total


async def hearth(argv: list[str], rate: ConstantRate) -> tuple[float, bytes]:
    """CPU seconds (ffmpeg and this process) and the bytes Hearth sends for bytes=0-."""
    before, own = children_cpu(), time.process_time()
    streams = ProgressiveStreams()
    chunks = streams.stream(argv, UnlimitedCapacity(), True, Path("bench"), "bench")
    body = exact_window(chunks, 0, rate.size)
    sent = bytearray()
    async with contextlib.aclosing(chunks), contextlib.aclosing(body):
        async for piece in body:
            sent += piece
    return children_cpu() - before + time.process_time() - own, bytes(sent)


def packets(data: bytes) -> tuple[int, list[tuple[int, float]]]:
    """(null packets, [(offset, PTS seconds) of each video PES start]) of an MPEG-TS stream."""
    nulls, frames = 0, []
    for at in range(0, len(data) - PACKET + 1, PACKET):
        packet = data[at : at + PACKET]
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        if pid == 0x1FFF:
            nulls += 1
            continue
        control, start = (packet[3] >> 4) & 3, 4
        if control & 2:
            start = 5 + packet[4]
        if not packet[1] & 0x40 or not control & 1 or packet[start : start + 3] != b"\0\0\1":
            continue
        if packet[start + 3] & 0xF0 != 0xE0:  # a video stream's PES: 0xE0-0xEF
            continue
        if packet[start + 7] & 0x80:
            q = packet[start + 9 : start + 14]
            pts = ((q[0] >> 1) & 7) << 30 | q[1] << 22 | (q[2] >> 1) << 15 | q[3] << 7 | q[4] >> 1
            frames.append((at, pts / 90_000))
    return nulls, frames


def constancy(data: bytes, rate: ConstantRate) -> dict[str, float]:
    nulls, frames = packets(data)
    per_second: list[int] = []
    drift: list[float] = []
    first = frames[0][1]
    second, began = 0, 0
    for offset, pts in frames:
        drift.append(offset / rate.bytes_per_second - (pts - first))
        if pts - first >= second + 1:
            if second:
                per_second.append(offset - began)
            second, began = int(pts - first), offset
    ratios = [n / rate.bytes_per_second for n in per_second]
    return {
        "padding_pct": 100 * nulls * PACKET / len(data),
        "rate_min": min(ratios),
        "rate_median": statistics.median(ratios),
        "rate_max": max(ratios),
        "drift_max": max(abs(d) for d in drift),
        "drift_p95": statistics.quantiles([abs(d) for d in drift], n=20)[-1],
        "content_end": frames[-1][1] - TS_OFFSET,
    }


def plan_for(path: Path) -> tuple[PlaybackPlan, dict[str, Any], float]:
    """What a generic DLNA TV gets, from the probe as the catalog stores it."""
    facts = json.loads(json.dumps(dataclasses.asdict(probe_blocking(path)), default=str))
    plan = decide(facts, load_profiles([])["dlna-generic"])
    return plan, facts, float(facts["duration"])


def measure(path: Path, runs: int) -> None:
    plan, probe, duration = plan_for(path)
    rate = constant_rate(plan, probe, duration)
    assert rate is not None
    encoder = EncoderSettings.for_encoder("libx264", preset=PRESET)
    today = progressive_command(FFMPEG, path, plan, probe, encoder)
    constant = progressive_command(FFMPEG, path, plan, probe, encoder, None, rate)
    print(f"\n{path.name}: {duration:.1f} s, {' / '.join(plan.reasons)}")
    print(
        f"  rate {rate.muxrate / 1e6:.3f} Mbit/s (video held to {rate.video_bitrate / 1e6:.2f}), "
        f"advertised {rate.size / 1e6:.2f} MB"
    )
    cpu: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    for _ in range(runs):
        a, today_bytes = bare(today)
        b, _ = bare(constant)
        c, sent = asyncio.run(hearth(constant, rate))
        cpu["a"].append(a)
        cpu["b"].append(b)
        cpu["c"].append(c)
    found = constancy(sent, rate)
    print(
        f"  bytes/s of content, per second: min {found['rate_min']:.3f}, median "
        f"{found['rate_median']:.3f}, max {found['rate_max']:.3f} x nominal"
    )
    print(
        f"  drift (byte offset / rate - PTS): max {found['drift_max']:.2f} s, "
        f"p95 {found['drift_p95']:.2f} s; last frame at {found['content_end']:.2f} s "
        f"of {duration:.2f} (all of it inside the advertised length: "
        f"{found['content_end'] >= duration - 0.1})"
    )
    print(
        f"  padding {found['padding_pct']:.1f} % of the bytes sent; today's stream "
        f"{today_bytes / 1e6:.2f} MB, the constant-rate one {len(sent) / 1e6:.2f} MB "
        f"(x{len(sent) / today_bytes:.2f})"
    )
    med = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"  CPU s: (a) bare ffmpeg today {med['a']:.1f}, (b) bare ffmpeg constant-rate "
        f"{med['b']:.1f}, (c) Hearth's path {med['c']:.1f}; b/a {med['b'] / med['a']:.2f}, "
        f"c/a {med['c'] / med['a']:.2f}, c/b {med['c'] / med['b']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cache-dir", default="/var/tmp/hearth-bench")
    parser.add_argument("--films", default="hevc,h264", help="which: hevc, h264 or both")
    args = parser.parse_args()
    cache = Path(args.cache_dir)
    hevc = make_film(
        cache, "hevc-ac3", args.seconds,
        ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"],
        ["-c:a", "ac3"],
    )  # fmt: skip
    avc = make_film(
        cache, "h264-aac-vbr", args.seconds,
        ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
         "-maxrate", "6M", "-bufsize", "12M"],
        ["-c:a", "aac", "-b:a", "160k"],
    )  # fmt: skip
    print(f"{platform.machine()}, {PRESET}, {args.runs} run(s); CPU figures are medians")
    for film in [f for name, f in (("hevc", hevc), ("h264", avc)) if name in args.films]:
        measure(film, args.runs)


if __name__ == "__main__":
    main()
