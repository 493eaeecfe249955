"""Videos for the stills tests: black at the start, a moving test picture after, made by ffmpeg.

`film` makes what a real film looks like to the frame picker (a dark opening, then detail);
`damaged` keeps a film's header and overwrites the rest, so it scans as an item but no frame
decodes. Used by tests/core/library/test_stills.py, tests/plugins/web and bench/frames.py.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path


def film(
    path: Path, seconds: float = 8.0, black: float = 1.5, size: str = "320x180", audio: bool = False
) -> Path:
    """`black` seconds of black, then testsrc2 (colour bars, a moving ball, a counter); with
    `audio`, an AAC tone too (for tests that play it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    graph = (
        f"color=c=black:s={size}:r=25:d={black}[a];"
        f"testsrc2=s={size}:r=25:d={seconds - black}[b];[a][b]concat=n=2:v=1:a=0[v]"
    )
    tone = (
        ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        if audio
        else []
    )
    sound = ["-map", "0:a", "-c:a", "aac", "-b:a", "64k"] if audio else []
    subprocess.run(
        [
            ffmpeg,
            *("-hide_banner", "-loglevel", "error", "-y", *tone, "-filter_complex", graph),
            *("-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25"),
            *("-pix_fmt", "yuv420p", *sound, str(path)),
        ],
        check=True,
        timeout=120,
    )
    return path


def damaged(path: Path, seconds: float = 8.0) -> Path:
    """A film whose every byte after the first 4 KB is noise: its header says 8 s of video."""
    film(path, seconds)
    data = bytearray(path.read_bytes())  # .mkv: the header (tracks, duration) comes first
    data[4096:] = random.Random(7).randbytes(len(data) - 4096)
    path.write_bytes(bytes(data))
    return path
