"""USB drives coming and going, as udev reports them: pure parsing plus one thin pyudev bridge.

`parse_block_device` and `event_from_udev` turn a udev property mapping into a `UsbPartition` /
`DriveEvent`; `UdevDriveMonitor` feeds real udev events through the same functions and calls back
on the asyncio loop (no thread). This is the only module that touches pyudev, which is untyped.
It never mounts, unmounts or opens a device, and never writes to one: it only listens. Where udev
is absent (containers, CI) the monitor says so once and reports itself unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyudev

_LOGGER = logging.getLogger(__name__)

DriveAction = Literal["add", "remove", "change"]
_ACTIONS: dict[str, DriveAction] = {"add": "add", "remove": "remove", "change": "change"}

# The Pi's own SD card (mmcblk) and virtual devices are never removable media worth indexing.
_NEVER_DRIVES = re.compile(r"^/dev/(mmcblk|loop|ram|zram|nbd|md|dm-)")
_UDEV_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_SECTOR_BYTES = 512  # blkid's PART_ENTRY_SIZE counts 512-byte sectors whatever the disk's own


@dataclass(frozen=True, slots=True)
class UsbPartition:
    """A filesystem on a USB drive; `uuid` (with `serial`, as FAT UUIDs are short) identifies it.

    `device_number` is "major:minor", the key /proc/self/mountinfo uses. Optional fields are None
    when udev did not say.
    """

    device: str
    uuid: str
    label: str | None
    fs_type: str
    vendor: str | None
    model: str | None
    serial: str | None
    size_bytes: int | None
    device_number: str | None


@dataclass(frozen=True, slots=True)
class DriveEvent:
    """A USB filesystem appeared, went away, or changed (relabelled, resized)."""

    action: DriveAction
    partition: UsbPartition


def decode_udev_escapes(text: str) -> str:
    r"""Undo udev's `\x20`-style escaping of *_ENC properties; the bytes inside are UTF-8."""
    raw = bytearray()
    position = 0
    for match in _UDEV_ESCAPE.finditer(text):
        raw += text[position : match.start()].encode("utf-8", "surrogateescape")
        raw.append(int(match.group(1), 16))
        position = match.end()
    raw += text[position:].encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", errors="replace")


def _text(properties: Mapping[str, str], name: str) -> str | None:
    """The *_ENC form keeps spaces that the plain form turned into "_"; prefer it, trimmed."""
    encoded = properties.get(f"{name}_ENC")
    value = decode_udev_escapes(encoded) if encoded else properties.get(name, "")
    return value.strip() or None


def _is_usb(properties: Mapping[str, str]) -> bool:
    # USB-SATA bridges often get ID_BUS=ata from ata_id; their ID_PATH still names the usb hop.
    return properties.get("ID_BUS") == "usb" or "usb" in properties.get("ID_PATH", "")


def _size_bytes(properties: Mapping[str, str]) -> int | None:
    sectors = properties.get("ID_PART_ENTRY_SIZE", "")
    return int(sectors) * _SECTOR_BYTES if sectors.isdigit() else None


def parse_block_device(properties: Mapping[str, str]) -> UsbPartition | None:
    """The USB filesystem these udev properties describe, or None for anything else.

    Accepts partitions, and whole disks that carry a filesystem and no partition table
    ("superfloppy" sticks). Rejects the SD card, loop/ram devices, swap, LUKS and other
    non-filesystems, and anything blkid gave no UUID, since the UUID is how a drive is recognised
    when it comes back.
    """
    device = properties.get("DEVNAME", "")
    if properties.get("SUBSYSTEM", "block") != "block" or not device or _NEVER_DRIVES.match(device):
        return None
    if not _is_usb(properties) or properties.get("ID_FS_USAGE") != "filesystem":
        return None
    devtype = properties.get("DEVTYPE")
    # A partition imports its disk's ID_PART_TABLE_TYPE, so that key only disqualifies disks.
    superfloppy = devtype == "disk" and "ID_PART_TABLE_TYPE" not in properties
    uuid = properties.get("ID_FS_UUID", "")
    fs_type = properties.get("ID_FS_TYPE", "")
    if not (devtype == "partition" or superfloppy) or not uuid or not fs_type:
        return None
    major, minor = properties.get("MAJOR"), properties.get("MINOR")
    return UsbPartition(
        device=device,
        uuid=uuid,
        label=_text(properties, "ID_FS_LABEL"),
        fs_type=fs_type,
        vendor=_text(properties, "ID_VENDOR"),
        model=_text(properties, "ID_MODEL"),
        serial=properties.get("ID_SERIAL_SHORT") or properties.get("ID_SERIAL") or None,
        size_bytes=_size_bytes(properties),
        device_number=f"{major}:{minor}" if major and minor else None,
    )


def event_from_udev(action: str, properties: Mapping[str, str]) -> DriveEvent | None:
    """Stateless: a DriveEvent when the properties alone describe a USB filesystem.

    A "remove" usually lacks the ID_FS_* keys, so this returns None for it;
    `UdevDriveMonitor` remembers what each device node held to report removals.
    """
    kind = _ACTIONS.get(action)
    partition = parse_block_device(properties) if kind else None
    return DriveEvent(kind, partition) if kind and partition else None


def properties_of(device: Any) -> dict[str, str]:
    """A pyudev Device as the plain mapping every function here takes (tests build these)."""
    return dict(device.properties)


class UdevDriveMonitor:
    """Calls `callback` on the event loop whenever a USB filesystem comes, goes or changes.

    Start it before `list_present()` so no drive plugged in between the two is missed. Events for
    one device node are reduced to what a consumer needs: a remove names the partition that was
    added, a change that swaps the filesystem is a remove then an add, a repeated change is dropped.
    """

    def __init__(
        self, callback: Callable[[DriveEvent], None], *, run_udev: Path = Path("/run/udev")
    ) -> None:
        self._callback = callback
        self._run_udev = run_udev
        self._known: dict[str, UsbPartition] = {}
        self._context: Any = None
        self._monitor: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probed = False
        self.unavailable_reason: str | None = None

    @property
    def available(self) -> bool:
        """False where udev cannot tell us about drives; `unavailable_reason` says why."""
        if not self._probed:
            self._probed = True
            self.unavailable_reason = self._connect()
            if self.unavailable_reason:
                _LOGGER.info("USB drives will not be noticed: %s", self.unavailable_reason)
        return self.unavailable_reason is None

    def _connect(self) -> str | None:
        # libudev itself disables its monitor, silently, when udevd's control socket is missing.
        if not (self._run_udev / "control").exists():
            return f"no udev daemon ({self._run_udev / 'control'} is absent)"
        try:
            self._context = pyudev.Context()
            self._monitor = pyudev.Monitor.from_netlink(self._context)
            self._monitor.filter_by("block")
        except (ImportError, OSError, ValueError) as err:
            return f"udev cannot be used: {err}"
        return None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen on the loop; does nothing (beyond logging once) when udev is unavailable."""
        if self._loop is not None or not self.available:
            return
        self._monitor.start()
        loop.add_reader(self._monitor.fileno(), self._on_readable)
        self._loop = loop

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._monitor.fileno())
            self._loop = None

    def list_present(self) -> list[UsbPartition]:
        """USB filesystems attached now, remembered so their later removal can be reported.

        Reads only sysfs and udev's database under /run, both in memory: it never waits on a disk.
        """
        if not self.available:
            return []
        found = []
        for device in self._context.list_devices(subsystem="block"):
            partition = parse_block_device(properties_of(device))
            if partition is not None:
                self._known[partition.device] = partition
                found.append(partition)
        return found

    def handle(self, action: str, properties: Mapping[str, str]) -> list[DriveEvent]:
        """Turn one udev event into DriveEvents, call back with each, and return them.

        The monitor's reader uses this for every device; tests feed it plain property dicts.
        """
        events = self._events_for(action, properties)
        for event in events:
            self._callback(event)
        return events

    def _events_for(self, action: str, properties: Mapping[str, str]) -> list[DriveEvent]:
        device = properties.get("DEVNAME")
        if not device or action not in _ACTIONS:
            return []
        known = self._known.pop(device, None)
        event = event_from_udev(action, properties)
        if action == "remove":
            gone = known or (event.partition if event else None)
            return [DriveEvent("remove", gone)] if gone else []
        if event is None:  # reformatted as swap, or media ejected from a card reader
            return [DriveEvent("remove", known)] if known else []
        self._known[device] = event.partition
        if known is None:
            return [DriveEvent("add", event.partition)]
        if known.uuid != event.partition.uuid:
            return [DriveEvent("remove", known), DriveEvent("add", event.partition)]
        # udev re-sends "change" whenever a writer closes the node; only report real changes.
        return [DriveEvent("change", event.partition)] if event.partition != known else []

    def _on_readable(self) -> None:
        while True:
            try:
                device = self._monitor.poll(timeout=0)
            except OSError as err:  # ENOBUFS: the kernel dropped events while we were busy
                _LOGGER.warning("udev events were lost: %s", err)
                return
            if device is None:
                return
            self.handle(device.action or "", properties_of(device))
