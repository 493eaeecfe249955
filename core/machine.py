"""What the hub knows about the box it runs on: the cached hardware report.

Detection runs test encodes, so it happens once in the background after start and is cached in
the data folder keyed on the ffmpeg binary; later starts read the cache. Live readings
(temperature, throttling) are refreshed on demand. It never changes the hardware's settings.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from hardware.report import HardwareReport, detect_blocking, report_to_dict

_LOGGER = logging.getLogger("hearth.hardware")
CACHE_FILE = "hardware.json"


def detect_for_blocking(
    data_dir: Path, ffmpeg_path: Path | None, refresh: bool = False
) -> HardwareReport:
    """Detect (or read the cache), as `hearth hw` and the server both do."""
    cache = data_dir / CACHE_FILE
    if refresh:
        cache.unlink(missing_ok=True)
    return detect_blocking(ffmpeg_path=str(ffmpeg_path) if ffmpeg_path else None, cache_path=cache)


class MachineInfo:
    """Holds the latest hardware report; `detect` fills it without blocking the loop."""

    def __init__(self, data_dir: Path, ffmpeg_path: Path | None) -> None:
        self._data_dir = data_dir
        self._ffmpeg_path = ffmpeg_path
        self.report: HardwareReport | None = None
        self._ready = asyncio.Event()

    async def detect(self) -> HardwareReport:
        """Run detection in the executor; logs the verdict once."""
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(
            None, detect_for_blocking, self._data_dir, self._ffmpeg_path
        )
        self.report = report
        self._ready.set()
        if report.ffmpeg is None:
            _LOGGER.warning("ffmpeg not found: Hearth can play files directly but not transcode")
        elif not report.from_cache:
            names = ", ".join(e.name for e in report.verified_encoders) or "none"
            _LOGGER.info("Verified video encoders: %s", names)
        return report

    async def wait(self) -> HardwareReport:
        """The report, waiting for the first detection to finish."""
        await self._ready.wait()
        assert self.report is not None
        return self.report

    def health(self) -> dict[str, Any]:
        """The hardware section of /api/health."""
        if self.report is None:
            return {"state": "detecting"}
        return {"state": "ready", **report_to_dict(self.report)}
