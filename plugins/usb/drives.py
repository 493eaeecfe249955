"""USB drives as libraries: a drive that appears and is mounted becomes a library named after
its label; when it goes, its library goes offline (items kept with their watch state, hidden,
streams answer 410); when the same filesystem (by UUID) returns, it comes back online and an
incremental scan (stats only) catches up.

Hearth never mounts anything (it does not run as root): the OS mounts (udisks2, or the udev
rule and systemd-mount that scripts/ installs on a Pi) and we wait for the mount to show up.
Never writes to a drive, and never follows a link on it out of the library folders (a drive
from anywhere may carry links to the box's own files).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.plugin_api import (
    FileKind,
    FileRecord,
    LibraryInfo,
    LibraryRoots,
    PluginContext,
    WalkProblem,
    classify,
    walk_tree_blocking,
)
from hardware.mounts import is_mounted_blocking, mount_point_for, wait_for_mount
from hardware.udev import DriveEvent, UsbPartition

_EPISODE_NAME = re.compile(r"[Ss]\d{1,2}[Ee]\d{1,3}|/Season \d")
# camera and phone names, and the dated names people give home videos
_CAMERA_NAME = re.compile(r"(?:^|/)(?:VID|MOV|IMG|DSC|PXL|GOPR?)[_-]?\d|(?:19|20)\d\d-\d\d-\d\d")
SYSTEM_MOUNTS = ("/", "/boot", "/boot/firmware", "/home", "/var")
GUESS_LIMIT = 2000


@dataclass(frozen=True)
class DriveRule:
    """How one configured drive (by label or UUID) becomes a library."""

    label: str | None
    uuid: str | None
    kind: str | None
    name: str | None

    def matches(self, partition: UsbPartition) -> bool:
        return (self.uuid is not None and self.uuid.lower() == (partition.uuid or "").lower()) or (
            self.label is not None and self.label == partition.label
        )


def guess_kind_blocking(root: Path) -> str:
    """A drive's library kind from what is on it: mostly audio is music, mostly photos is
    photos; videos are shows when names carry SxxEyy, else movies."""
    counts = {FileKind.VIDEO: 0, FileKind.AUDIO: 0, FileKind.PHOTO: 0}
    episodes = dated = 0
    for seen, entry in enumerate(walk_tree_blocking(root)):
        if seen >= GUESS_LIMIT:
            break
        if isinstance(entry, WalkProblem):
            continue
        kind = classify(entry.relpath)
        if kind in counts:
            counts[kind] += 1
            if kind == FileKind.VIDEO and _looks_like_episode(entry.relpath):
                episodes += 1
            elif kind == FileKind.VIDEO and _CAMERA_NAME.search(entry.relpath):
                dated += 1
    top = max(counts, key=lambda k: counts[k])
    if counts[top] == 0 or top == FileKind.VIDEO:
        videos = counts[FileKind.VIDEO]
        if episodes * 2 > videos:
            return "shows"
        return "videos" if dated * 2 > videos else "movies"
    return "music" if top == FileKind.AUDIO else "photos"


def _looks_like_episode(relpath: str) -> bool:
    return bool(_EPISODE_NAME.search("/" + relpath))


class UsbDriveSource:
    """One USB filesystem, wherever it is mounted now."""

    # its walk is walk_tree_blocking over roots(): a scan walks it in a child process
    walks_folder_trees = True

    def __init__(self, partition: UsbPartition, kind: str, name: str, mount: Path) -> None:
        self.partition = partition
        self._kind = kind
        self._name = name
        self.mount: Path | None = mount

    @property
    def source_id(self) -> str:
        return f"usb:{self.partition.uuid}"

    @property
    def library(self) -> LibraryInfo:
        return LibraryInfo(self._name, self._kind)

    def roots(self) -> Sequence[Path]:
        return [self.mount] if self.mount is not None else []

    def is_online(self) -> bool:
        return self.mount is not None and os.path.isdir(self.mount)

    def walk_blocking(self, roots: LibraryRoots) -> Iterator[FileRecord | WalkProblem]:
        if self.mount is not None:
            yield from walk_tree_blocking(self.mount, roots=roots)


MountLookup = Callable[[UsbPartition], Path | None]


class UsbDriveManager:
    """Turns drive events into sources, online and offline states and scans."""

    def __init__(
        self,
        ctx: PluginContext,
        auto_add: bool,
        rules: tuple[DriveRule, ...],
        lookup: MountLookup,
        mount_timeout: float,
    ) -> None:
        self._ctx = ctx
        self._auto_add = auto_add
        self._rules = rules
        self._lookup = lookup
        self._mount_timeout = mount_timeout
        self.sources: dict[str, UsbDriveSource] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def on_event(self, event: DriveEvent) -> None:
        """Called on the loop by the udev monitor (and by tests, the same way)."""
        if event.action in ("add", "change"):
            self._track(self.attach(event.partition), f"attach-{event.partition.uuid}")
        elif event.action == "remove":
            self._track(self.detach(event.partition), f"detach-{event.partition.uuid}")

    def _track(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = self._ctx.create_task(work, name)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settled(self) -> None:
        """Until every drive event received so far has been handled."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _rule_for(self, partition: UsbPartition) -> DriveRule | None:
        for rule in self._rules:
            if rule.matches(partition):
                return rule
        return DriveRule(None, None, None, None) if self._auto_add else None

    async def attach(self, partition: UsbPartition) -> None:
        rule = self._rule_for(partition)
        if rule is None or not partition.uuid:
            return
        mount = await wait_for_mount(lambda: self._lookup(partition), self._mount_timeout)
        if mount is None:
            self._ctx.logger.warning(
                "USB drive %s (%s) was not mounted within %.0f s; mount it to add it",
                partition.label or partition.device,
                partition.uuid,
                self._mount_timeout,
            )
            return
        if str(mount) in SYSTEM_MOUNTS:
            return  # a Pi booting from a USB SSD: its own system disk is not a library
        source = self.sources.get(partition.uuid)
        if source is not None:
            source.mount = mount
            await self._ctx.set_source_online(source, True)
            self._ctx.request_scan(source)
            self._ctx.logger.info("USB drive %s is back at %s", source.library.name, mount)
            return
        kind = rule.kind
        if kind is None:
            kind = await self._ctx.run_blocking(guess_kind_blocking, mount)
        name = rule.name or partition.label or f"USB drive {partition.uuid[:4]}"
        source = UsbDriveSource(partition, kind, name, mount)
        self.sources[partition.uuid] = source
        self._ctx.register_source(source)  # the hub scans a newly registered source
        self._ctx.logger.info("USB drive %s at %s added as a %s library", name, mount, kind)

    async def detach(self, partition: UsbPartition) -> None:
        source = self.sources.get(partition.uuid or "")
        if source is None:
            return
        source.mount = None
        await self._ctx.set_source_online(source, False)
        self._ctx.logger.info("USB drive %s removed; its library is offline", source.library.name)

    async def check_mounts(self, interval: float) -> None:
        """A drive unmounted without a udev remove (lazy unmount, a crash): notice it."""
        while True:
            await asyncio.sleep(interval)
            for source in list(self.sources.values()):
                mount = source.mount
                if mount is not None and not await self._ctx.run_blocking(
                    is_mounted_blocking, mount
                ):
                    await self.detach(source.partition)


def mountinfo_lookup(mountinfo: Path, by_uuid: Path) -> MountLookup:
    """Where a partition is mounted now, read from the kernel's mount table."""

    def lookup(partition: UsbPartition) -> Path | None:
        try:
            text = mountinfo.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
        entry = mount_point_for(
            partition.device,
            partition.uuid,
            text,
            by_uuid,
            device_number=partition.device_number,
        )
        return entry.mount_point if entry is not None else None

    return lookup
