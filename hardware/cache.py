"""Remembering ffmpeg probe results across restarts, so test encodes run once per setup.

The cache holds only what is costly and stable — ffmpeg's listings and the encoder test-encode
outcomes — in one JSON file whose path the caller chooses. Its key is the ffmpeg binary (path,
mtime, size), the kernel release, the encoder device nodes present and the process's groups:
upgrading ffmpeg or the kernel, plugging in a GPU or joining the `render` group re-probes;
installing a driver library alone (libva, libcuda) does not, so callers should offer a re-probe
(delete the file). Live readings (temperature, throttling) are never cached. A missing, stale or
corrupt file is simply a miss; the file is written only after a fresh probe, so an idle restart
writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.devices import DeviceInventory
from hardware.encoders import EncoderCapability, Resolution
from hardware.ffmpeg import EncoderListing, FfmpegInfo, FfmpegVersion

CACHE_FORMAT = 1
"""Bump when the probe changes (new candidates, another test encode) to force a re-probe."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ffmpeg: FfmpegInfo
    encoders: tuple[EncoderCapability, ...]


def probe_cache_key_blocking(
    ffmpeg: Path, kernel: str | None, devices: DeviceInventory
) -> dict[str, Any]:
    """What must be unchanged for a cached probe to still hold (stats the ffmpeg binary)."""
    stat = ffmpeg.stat()  # follows symlinks: /usr/bin/ffmpeg may be an alternatives link
    return {
        "format": CACHE_FORMAT,
        "ffmpeg": str(ffmpeg.resolve()),
        "mtime_ns": stat.st_mtime_ns,
        "size": stat.st_size,
        "kernel": kernel,
        "devices": list(devices.paths()),
        # Joining the `render` or `video` group is the usual fix for a failed hardware test
        # encode; the new groups only reach a restarted process, which then re-probes.
        "groups": sorted(os.getgroups()),
    }


def _ffmpeg_from_dict(data: dict[str, Any]) -> FfmpegInfo:
    return FfmpegInfo(
        path=str(data["path"]),
        version=FfmpegVersion(**data["version"]),
        hwaccels=tuple(str(name) for name in data["hwaccels"]),
        encoders=tuple(EncoderListing(**listing) for listing in data["encoders"]),
    )


def _encoder_from_dict(data: dict[str, Any]) -> EncoderCapability:
    fields = dict(data)
    resolution = fields.pop("max_resolution")
    return EncoderCapability(
        **fields, max_resolution=Resolution(**resolution) if resolution else None
    )


def load_probe_blocking(cache_path: Path, key: dict[str, Any]) -> ProbeResult | None:
    """The cached probe if the file exists, parses and was made under the same key."""
    try:
        document = json.loads(cache_path.read_text(encoding="utf-8"))
        if document.get("key") != key:
            return None
        return ProbeResult(
            ffmpeg=_ffmpeg_from_dict(document["ffmpeg"]),
            encoders=tuple(_encoder_from_dict(item) for item in document["encoders"]),
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # absent or damaged: probing again is the repair


def store_probe_blocking(cache_path: Path, key: dict[str, Any], probe: ProbeResult) -> None:
    """Write atomically (temp file + rename): a power cut leaves the old file or the new one."""
    document = {
        "key": key,
        "ffmpeg": dataclasses.asdict(probe.ffmpeg),
        "encoders": [dataclasses.asdict(item) for item in probe.encoders],
    }
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=cache_path.name, dir=cache_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=1, sort_keys=True)
        os.replace(temp_name, cache_path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
