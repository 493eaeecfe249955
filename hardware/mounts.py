"""Where a filesystem is mounted, and whether a mount point still holds one.

Parses /proc/self/mountinfo text (passed in, so tests give their own) and follows the
/dev/disk/by-uuid symlinks udev makes. A USB drive is mounted by udisks2 or systemd a moment after
udev announces it, hence `wait_for_mount`; a yanked drive can leave its mount point behind as an
empty folder, hence `is_mounted_blocking`. This module never mounts, unmounts or writes anything.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

MOUNTINFO = Path("/proc/self/mountinfo")
BY_UUID = Path("/dev/disk/by-uuid")

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of mountinfo; `root` is the folder of the filesystem mounted (not "/" for binds)."""

    mount_id: int
    parent_id: int
    device_number: str
    root: str
    mount_point: Path
    mount_options: tuple[str, ...]
    fs_type: str
    source: str
    super_options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        """Read-only for this mount or for the whole filesystem (e.g. mounted ro elsewhere)."""
        return "ro" in self.mount_options or "ro" in self.super_options


def unescape_mountinfo(field: str) -> str:
    r"""The kernel writes space, tab, newline and backslash in paths as \040, \011, \012, \134."""
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def _parse_line(line: str) -> MountEntry | None:
    # Fields are single-space separated; an empty source shows up as an empty field.
    fields = line.split(" ")
    try:
        separator = fields.index("-", 6)
        mount_id, parent_id = int(fields[0]), int(fields[1])
        fs_type, source, super_options = fields[separator + 1 : separator + 4]
    except ValueError:
        return None
    return MountEntry(
        mount_id=mount_id,
        parent_id=parent_id,
        device_number=fields[2],
        root=unescape_mountinfo(fields[3]),
        mount_point=Path(unescape_mountinfo(fields[4])),
        mount_options=tuple(fields[5].split(",")),
        fs_type=unescape_mountinfo(fs_type),
        source=unescape_mountinfo(source),
        super_options=tuple(super_options.split(",")),
    )


def parse_mountinfo(text: str) -> list[MountEntry]:
    """Entries in mount order; malformed lines are skipped rather than failing the whole read."""
    entries = (_parse_line(line) for line in text.splitlines() if line)
    return [entry for entry in entries if entry is not None]


def _resolved(path: str) -> str:
    return os.path.realpath(path) if path.startswith("/") else path


def mount_point_for(
    device: str | None,
    uuid: str | None,
    mountinfo_text: str,
    by_uuid_dir: Path = BY_UUID,
    *,
    device_number: str | None = None,
) -> MountEntry | None:
    """Where this filesystem is mounted, by device node, by UUID, or by "major:minor".

    Only mounts of the filesystem's root count: a bind mount of one folder of the drive is not
    where the drive is. With several, the first (oldest) one wins.
    """
    wanted = set()
    if device:
        wanted |= {device, _resolved(device)}
    if uuid and os.path.lexists(by_uuid_dir / uuid):
        wanted.add(os.path.realpath(by_uuid_dir / uuid))
    for entry in parse_mountinfo(mountinfo_text):
        if entry.root != "/":
            continue
        if entry.device_number == device_number or (
            wanted and (entry.source in wanted or _resolved(entry.source) in wanted)
        ):
            return entry
    return None


async def wait_for_mount(
    lookup: Callable[[], _T | None],
    timeout: float,  # noqa: ASYNC109 - running out of time is an answer (None), not an error
    interval: float = 0.25,
) -> _T | None:
    """Ask `lookup` until it answers or `timeout` seconds pass: the automounter lags udev's "add".

    `lookup` is called on the loop, so it must be quick (parsing mountinfo is).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = lookup()
        if found is not None or loop.time() >= deadline:
            return found
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))


def is_mounted_blocking(path: Path, mountinfo: Path = MOUNTINFO) -> bool:
    """Whether a filesystem is mounted at `path` — False for the empty folder a yanked drive leaves.

    A different st_dev from the parent folder says so (os.path.ismount); mountinfo catches bind
    mounts from the same filesystem. A failing stat (EIO from a dead drive) counts as unmounted.
    """
    if os.path.ismount(path):
        return True
    try:
        target = Path(os.path.realpath(path))
        text = mountinfo.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return False
    return any(entry.mount_point == target for entry in parse_mountinfo(text))
