"""What the button asks of the system: eject every USB drive safely, or power the box off.

Both go through the system's own services, which polkit lets the `hearth` user call (the Debian
package ships the rule), so Hearth never needs root: udisks2 through `udisksctl` (unmount each
mounted filesystem of a USB drive, then power the drive off) and logind through `systemctl
poweroff`. The drives are the USB filesystems udev knows (the same ones the usb plugin makes
libraries of), minus any drive that holds the system itself (a Pi booting from a USB SSD). The
plugin talks to `SystemActions`, so tests use a double; this module never mounts anything, never
writes to a drive and never runs a shell.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hardware.commands import CommandResult, CommandRunner, run_command_blocking
from hardware.mounts import BY_UUID, MOUNTINFO, mount_point_for
from hardware.udev import UdevDriveMonitor, UsbPartition

# A drive holding one of these is the box's own system disk: never ejected.
SYSTEM_MOUNTS = ("/", "/boot", "/boot/firmware", "/home", "/usr", "/var")
COMMAND_TIMEOUT = 60.0  # unmounting flushes the drive's write cache, which can take a while
SYS_BLOCK = Path("/sys/class/block")


@dataclass(frozen=True, slots=True)
class EjectOutcome:
    """Which drives are now safe to pull out, and what went wrong with the others."""

    ejected: tuple[tuple[str, str], ...]  # (disk device, name people know it by)
    failures: tuple[str, ...]  # not unmounted: not safe to pull out
    notes: tuple[str, ...] = ()  # unmounted (safe) but the drive could not be powered off


class SystemActions(Protocol):
    """Eject drives and power off; each returns what happened rather than raising."""

    async def eject_drives(self) -> EjectOutcome: ...

    async def power_off(self) -> str | None:
        """None when the system accepted; else why not."""
        ...


def usb_partitions_blocking() -> list[UsbPartition]:
    """The USB filesystems attached now, from udev's database (empty where udev is absent)."""
    return UdevDriveMonitor(lambda event: None).list_present()


def disk_of(device: str, sys_block: Path = SYS_BLOCK) -> str:
    """The whole disk a partition belongs to ("/dev/sda1" -> "/dev/sda"), from sysfs: a
    partition's folder sits inside its disk's. A whole-disk filesystem is its own disk."""
    name = os.path.basename(device)
    folder = (sys_block / name).resolve()
    if (folder / "partition").exists():
        return "/dev/" + folder.parent.name
    return device


def _first_line(result: CommandResult) -> str:
    text = (result.stderr or result.stdout).strip()
    if result.timed_out:
        return "timed out"
    return text.splitlines()[0] if text else f"exit status {result.returncode}"


class UdisksSystem:
    """The real thing: `udisksctl` and `systemctl`, run as child processes off the loop."""

    def __init__(
        self,
        udisksctl: str = "udisksctl",
        systemctl: str = "systemctl",
        partitions: Callable[[], Sequence[UsbPartition]] = usb_partitions_blocking,
        mountinfo: Path = MOUNTINFO,
        by_uuid: Path = BY_UUID,
        sys_block: Path = SYS_BLOCK,
        run: CommandRunner = run_command_blocking,
    ) -> None:
        self._udisksctl, self._systemctl = udisksctl, systemctl
        self._partitions, self._run = partitions, run
        self._mountinfo, self._by_uuid, self._sys_block = mountinfo, by_uuid, sys_block

    async def eject_drives(self) -> EjectOutcome:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.eject_drives_blocking)

    async def power_off(self) -> str | None:
        loop = asyncio.get_running_loop()
        argv = [self._systemctl, "poweroff", "--no-ask-password"]
        result = await loop.run_in_executor(None, functools.partial(self._run, argv, 30.0))
        return None if result.ok else _first_line(result)

    def _udisks(self, action: str, device: str) -> CommandResult:
        argv = [self._udisksctl, action, "--block-device", device, "--no-user-interaction"]
        return self._run(argv, COMMAND_TIMEOUT)

    def eject_drives_blocking(self) -> EjectOutcome:
        """Unmount every mounted filesystem of each USB drive, then power the drive off; a
        drive whose filesystem cannot be unmounted (busy) is left on and reported."""
        try:
            table = self._mountinfo.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            table = ""
        disks: dict[str, list[tuple[UsbPartition, Path | None]]] = {}
        for partition in self._partitions():
            entry = mount_point_for(
                partition.device,
                partition.uuid,
                table,
                self._by_uuid,
                device_number=partition.device_number,
            )
            mount = entry.mount_point if entry is not None else None
            disk = disk_of(partition.device, self._sys_block)
            disks.setdefault(disk, []).append((partition, mount))
        ejected: list[tuple[str, str]] = []
        failures: list[str] = []
        notes: list[str] = []
        for disk, members in sorted(disks.items()):
            if any(str(mount) in SYSTEM_MOUNTS for _, mount in members):
                continue
            name = ", ".join(p.label or p.model or p.device for p, _ in members)
            problem = None
            for partition, mount in members:
                if mount is not None:
                    result = self._udisks("unmount", partition.device)
                    if not result.ok:
                        problem = f"{name}: {_first_line(result)}"
                        break
            if problem is not None:
                failures.append(problem)
                continue
            # unmounted is safe to pull out; power-off only spins the drive down first
            result = self._udisks("power-off", disk)
            if not result.ok:
                notes.append(f"{name} was not powered off: {_first_line(result)}")
            ejected.append((disk, name))
        return EjectOutcome(tuple(ejected), tuple(failures), tuple(notes))
