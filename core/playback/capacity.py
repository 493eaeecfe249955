"""How many transcodes this box can afford right now, and the polite "no" beyond that.

The limit comes from what was measured, not hoped: a verified hardware encoder's known stream
count, else a short calibration encode with the software encoder (how many times real time it
runs). It shrinks while the board is throttling or hot. Over the limit a client gets 503 with
Retry-After and a sentence, never a stalling stream. Remuxing (video copy) is cheap and counts
for a quarter; direct play never asks. It never starts or stops ffmpeg itself.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.http.errors import ApiError
from hardware.health import BoardHealth

_LOGGER = logging.getLogger("hearth.capacity")
COPY_WEIGHT = 0.25
HOT_CELSIUS = 80.0
HEALTH_TTL = 10.0
CALIBRATION_FILE = "transcode-calibration.json"


@dataclass(frozen=True, slots=True)
class Calibration:
    """How fast the software encoder ran a 720p test clip: `speed` x real time."""

    encoder: str
    preset: str
    speed: float

    @property
    def streams(self) -> int:
        """Concurrent 720p transcodes with 25 % headroom (a stream needs 1x real time)."""
        return max(1, math.floor(self.speed / 1.25))


def calibrate_blocking(ffmpeg: Path, preset: str, seconds: float = 3.0) -> Calibration:
    """Encode `seconds` of 720p test video as fast as possible and time it."""
    command = [
        str(ffmpeg),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size=1280x720:rate=30:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-b:v",
        "3M",
        "-f",
        "null",
        "-",
    ]
    began = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    elapsed = max(time.monotonic() - began, 1e-3)
    return Calibration("libx264", preset, round(seconds / elapsed, 2))


def cached_calibration_blocking(cache: Path, ffmpeg: Path, preset: str) -> Calibration:
    """The calibration for this ffmpeg binary and preset, measured once and kept."""
    stat = ffmpeg.stat()
    key = f"{ffmpeg}:{stat.st_mtime_ns}:{stat.st_size}:{preset}:{os.cpu_count()}"
    try:
        data = json.loads(cache.read_text())
        if data.get("key") == key:
            return Calibration(data["encoder"], data["preset"], float(data["speed"]))
    except (OSError, ValueError, KeyError):
        pass
    calibration = calibrate_blocking(ffmpeg, preset)
    temp = cache.with_suffix(".tmp")
    record = {
        "key": key,
        "encoder": calibration.encoder,
        "preset": calibration.preset,
        "speed": calibration.speed,
    }
    temp.write_text(json.dumps(record))
    os.replace(temp, cache)
    return calibration


HealthReader = Callable[[], BoardHealth | None]


class TranscodeCapacity:
    """Counts running transcodes against a limit that follows the board's health."""

    def __init__(
        self, base_limit: float, health: HealthReader | None = None, source: str = ""
    ) -> None:
        self.base_limit = base_limit
        self.source = source
        self._health = health
        self._health_at = 0.0
        self._cached: BoardHealth | None = None
        self.in_use = 0.0

    def _board(self) -> BoardHealth | None:
        if self._health is None:
            return None
        now = time.monotonic()
        if now - self._health_at > HEALTH_TTL:
            self._cached, self._health_at = self._health(), now
        return self._cached

    def limit(self) -> tuple[float, str | None]:
        """The limit now and, when reduced, why."""
        board = self._board()
        if board is None:
            return self.base_limit, None
        throttle = board.throttle
        if throttle is not None and (throttle.now.throttled or throttle.now.under_voltage):
            return min(self.base_limit, 1.0) * 0.5, "the board is throttling (power or heat)"
        celsius = board.cpu_celsius
        if celsius is not None and celsius >= HOT_CELSIUS:
            return max(self.base_limit / 2, 0.5), f"the board is hot ({celsius:.0f} °C)"
        return self.base_limit, None

    def acquire(self, encodes_video: bool) -> float:
        """Take a slot or raise a 503 the client can show; returns the weight taken."""
        weight = 1.0 if encodes_video else COPY_WEIGHT
        limit, why = self.limit()
        if self.in_use + weight > limit + 1e-9:
            reason = f" because {why}" if why else ""
            raise ApiError(
                503,
                f"This box is already converting as many videos as it can{reason}; "
                "try again in a minute, or pick a lower quality or a device that plays the "
                "original file.",
                "transcode_capacity",
                **{"Retry-After": "60"},
            )
        self.in_use += weight
        return weight

    def release(self, weight: float) -> None:
        self.in_use = max(0.0, self.in_use - weight)

    def status(self) -> dict[str, Any]:
        limit, why = self.limit()
        return {
            "limit": limit,
            "in_use": self.in_use,
            "reduced_because": why,
            "source": self.source,
        }
