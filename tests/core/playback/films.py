"""Short test films with a known keyframe rhythm, for the tests that watch what a player gets.

Made by the system ffmpeg from lavfi sources (a moving test card and a sine tone), because
PyAV's bundled FFmpeg (tests/core/media/mediagen.py) has no x265 and no AC3 path we can rely
on, and a flat picture would not fill the MPEG-TS packets a continuity check needs to see.
Keyframes come exactly every `keyframe_seconds` (scene-cut detection off), so a test knows
where a copied video can start. Nothing here starts a server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
TS_OFFSET = 1.4
"""Seconds ffmpeg's MPEG-TS muxer adds to every timestamp (see core.playback.hls)."""


def make_film(
    path: Path,
    seconds: float,
    *,
    video: str = "libx264",
    audio: str = "aac",
    keyframe_seconds: float = 2.0,
    size: tuple[int, int] = (320, 180),
    fps: int = 25,
) -> Path:
    """A film of `seconds`: H.264 or HEVC (`libx265`) with AAC or AC3 (`ac3`) stereo."""
    gop = str(round(keyframe_seconds * fps))
    if video == "libx265":
        params = f"log-level=error:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"
        picture = ["-c:v", "libx265", "-x265-params", params, "-tag:v", "hvc1"]
    else:
        picture = ["-c:v", video, "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [FFMPEG, "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size[0]}x{size[1]}:rate={fps}:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:d={seconds}",
         *picture, "-pix_fmt", "yuv420p", "-c:a", audio, "-ac", "2", "-shortest", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


def first_times(path: Path) -> tuple[float, float]:
    """(first video frame, first audio sample) presentation times of a file, in seconds."""
    found = []
    for kind in ("v:0", "a:0"):
        done = subprocess.run(
            [FFPROBE, "-v", "error", "-select_streams", kind, "-show_entries", "packet=pts_time",
             "-read_intervals", "%+#8", "-of", "json", str(path)],
            capture_output=True, check=True, text=True, timeout=30,
        )  # fmt: skip
        packets = json.loads(done.stdout).get("packets", [])
        times = [float(p["pts_time"]) for p in packets if p.get("pts_time") not in (None, "N/A")]
        assert times, f"no {kind} packets in {path}"
        found.append(min(times))
    return found[0], found[1]
