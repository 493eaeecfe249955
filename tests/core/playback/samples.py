"""Real sample files for the decision tests, and their probes in the catalog's dict shape.

`mediagen` (PyAV) makes the H.264/AAC, FLAC and MP3 files; PyAV's bundled FFmpeg has no x265
or AC3-in-Matroska path we can rely on, so HEVC/AC3 MKV, H.264/AC3 MKV, VP9/Opus WebM and
MPEG-2 TS come from the system ffmpeg binary with lavfi sources. Each file is a fraction of a
second of tiny picture, so the whole set takes well under a second to make.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any

from core.media.probe import probe_blocking
from tests.core.media.mediagen import SubtitleTrack, make_audio, make_video

FFMPEG = shutil.which("ffmpeg")
_PICTURE = ["-f", "lavfi", "-i", "testsrc2=s=128x72:r=25:d=0.4"]
_SURROUND = [
    *("-f", "lavfi", "-i", "sine=f=440:d=0.4:r=48000"),
    *("-filter_complex", "[1]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]"),
    *("-map", "0:v", "-map", "[a]"),
]
_STEREO = ["-f", "lavfi", "-i", "sine=f=440:d=0.4:r=48000", "-ac", "2"]
_X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
_FFMPEG_SAMPLES: dict[str, list[str]] = {
    "hevc_ac3.mkv": [
        *_PICTURE, *_SURROUND, "-c:v", "libx265", "-x265-params", "log-level=error",
        "-pix_fmt", "yuv420p10le", "-c:a", "ac3",
    ],
    "h264_ac3.mkv": [*_PICTURE, *_SURROUND, *_X264, "-c:a", "ac3"],
    "vp9_opus.webm": [
        *_PICTURE, *_STEREO, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus",
    ],
    "mpeg2_mp2.ts": [*_PICTURE, *_STEREO, "-c:v", "mpeg2video", "-c:a", "mp2"],
}  # fmt: skip

TABLE_FILES = (
    "h264_aac.mp4",
    "hevc_ac3.mkv",
    "h264_ac3.mkv",
    "vp9_opus.webm",
    "mpeg2_mp2.ts",
    "tone.flac",
    "tone.mp3",
)


def ffmpeg_sample(path: Path) -> Path:
    """One of the ffmpeg-made samples, chosen by its file name."""
    assert FFMPEG is not None, "these tests need the ffmpeg binary (apt install ffmpeg)"
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *_FFMPEG_SAMPLES[path.name], path],
        check=True,
        timeout=60,
    )
    return path


def probe_dict(path: Path) -> dict[str, Any]:
    """What the catalog stores for a file: `dataclasses.asdict(ProbeResult)`."""
    return dataclasses.asdict(probe_blocking(path))


def make_samples(folder: Path) -> dict[str, dict[str, Any]]:
    """Every sample the decision tests use, probed, by file name."""
    paths = [
        make_video(folder / "h264_aac.mp4", 0.4),
        make_video(folder / "h264_1440p.mp4", 0.08, size=(2560, 1440)),
        make_video(folder / "two_languages.mp4", 0.4, audio_languages=("eng", "fre")),
        make_video(
            folder / "subtitled.mkv",
            0.4,
            subtitles=(SubtitleTrack("eng", title="English"), SubtitleTrack("fre", forced=True)),
        ),
        make_audio(folder / "tone.flac", 0.4),
        make_audio(folder / "tone.mp3", 0.4),
        *(ffmpeg_sample(folder / name) for name in _FFMPEG_SAMPLES),
    ]
    return {path.name: probe_dict(path) for path in paths}
