"""Where transcodes write their temporary files (HLS segments, subtitles), and how much.

The folder is `hearth: scratch_dir` when set; else `$RUNTIME_DIRECTORY/transcode` when a
service manager gave Hearth a runtime folder (the packaged hearth.service has
`RuntimeDirectory=hearth`: /run/hearth, a tmpfs, so transcodes wear RAM, not the SD card);
else `<data_dir>/transcode`. The bound is `hearth: scratch_max_mb`, and never more than half of
the file system that holds the folder (a Pi's /run is a few hundred MB). The transcode manager
keeps under it (core.playback.sessions); this module only decides and measures, and never
deletes anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.configuration.core_schema import HearthConfig

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ScratchSpace:
    """The transcode scratch folder and the most it may hold, in bytes."""

    folder: Path
    limit_bytes: int


def scratch_space_blocking(
    hearth: HearthConfig, environ: Mapping[str, str] = os.environ
) -> ScratchSpace:
    """The folder and bound for this configuration (statvfs: blocking, once at start)."""
    runtime = environ.get("RUNTIME_DIRECTORY", "").split(":")[0]  # systemd may list several
    if hearth.scratch_dir is not None:
        folder = hearth.scratch_dir
    elif runtime:
        folder = Path(runtime) / "transcode"
    else:
        folder = hearth.data_dir / "transcode"
    limit = hearth.scratch_max_mb * MB
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None:
        stats = os.statvfs(existing)
        limit = min(limit, stats.f_blocks * stats.f_frsize // 2)
    return ScratchSpace(folder, limit)


def used_bytes_blocking(folder: Path) -> int:
    """Bytes in the files under `folder` (a session folder each, files in them)."""
    total = 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except FileNotFoundError:  # a session closed meanwhile
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:  # a segment deleted meanwhile
                continue
    return total
