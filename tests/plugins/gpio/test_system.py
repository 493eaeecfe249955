"""Eject and power-off through the system's own tools: fake `udisksctl` and `systemctl`
programs record how they were called; sysfs and the mount table are small real trees."""

from __future__ import annotations

from pathlib import Path

from hardware.udev import UsbPartition
from plugins.gpio.system import EjectOutcome, UdisksSystem, disk_of


def partition(device: str, uuid: str, label: str | None, number: str) -> UsbPartition:
    return UsbPartition(device, uuid, label, "vfat", "SanDisk", "Ultra", "4C53", None, number)


def fake_tool(folder: Path, name: str, fail_on: str = "", message: str = "") -> Path:
    """A program that appends its arguments to `<name>.log` and fails when they hold `fail_on`."""
    log = folder / f"{name}.log"
    program = folder / name
    program.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        f'case "$*" in *"{fail_on or "never-matches"}"*) echo "{message}" >&2; exit 1;; esac\n'
    )
    program.chmod(0o755)
    return program


def calls(folder: Path, name: str) -> list[str]:
    log = folder / f"{name}.log"
    return log.read_text().splitlines() if log.exists() else []


def sysfs(root: Path, disk: str, *parts: str) -> Path:
    """/sys/class/block links to a disk and its partitions, as the kernel lays them out."""
    devices = root / "devices" / "usb1" / "block" / disk
    block = root / "class" / "block"
    block.mkdir(parents=True, exist_ok=True)
    devices.mkdir(parents=True)
    (block / disk).symlink_to(devices)
    for part in parts:
        (devices / part).mkdir()
        (devices / part / "partition").write_text("1\n")
        (block / part).symlink_to(devices / part)
    return block


def system_for(tmp_path: Path, partitions: list[UsbPartition], mounts: list[str]) -> UdisksSystem:
    table = tmp_path / "mountinfo"
    table.write_text("\n".join(mounts) + "\n")
    (tmp_path / "by-uuid").mkdir(exist_ok=True)
    return UdisksSystem(
        udisksctl=str(tmp_path / "udisksctl"),
        systemctl=str(tmp_path / "systemctl"),
        partitions=lambda: partitions,
        mountinfo=table,
        by_uuid=tmp_path / "by-uuid",
        sys_block=tmp_path / "sys" / "class" / "block",
    )


STICK = [
    partition("/dev/sdz1", "5E4A-1B2C", "HOLIDAYS", "8:209"),
    partition("/dev/sdz2", "77AA-0001", "SPARE", "8:210"),
]
SSD = [partition("/dev/sdy2", "b1e2-root", "rootfs", "8:194")]
MOUNTS = [
    "22 1 8:194 / / rw,noatime shared:1 - ext4 /dev/sdy2 rw",
    "95 22 8:209 / /media/HOLIDAYS rw,nosuid shared:50 - vfat /dev/sdz1 rw",
]


def test_a_partition_belongs_to_its_disk(tmp_path: Path) -> None:
    block = sysfs(tmp_path / "sys", "sdz", "sdz1")
    assert disk_of("/dev/sdz1", block) == "/dev/sdz"
    assert disk_of("/dev/sdz", block) == "/dev/sdz"


def test_eject_unmounts_what_is_mounted_then_powers_the_drive_off(tmp_path: Path) -> None:
    sysfs(tmp_path / "sys", "sdz", "sdz1", "sdz2")
    sysfs(tmp_path / "sys", "sdy", "sdy2")
    fake_tool(tmp_path, "udisksctl")
    outcome = system_for(tmp_path, STICK + SSD, MOUNTS).eject_drives_blocking()
    assert outcome == EjectOutcome((("/dev/sdz", "HOLIDAYS, SPARE"),), ())
    # only the mounted partition is unmounted; the system's own USB SSD is never touched
    assert calls(tmp_path, "udisksctl") == [
        "unmount --block-device /dev/sdz1 --no-user-interaction",
        "power-off --block-device /dev/sdz --no-user-interaction",
    ]


def test_a_busy_drive_is_left_on_and_reported(tmp_path: Path) -> None:
    sysfs(tmp_path / "sys", "sdz", "sdz1", "sdz2")
    fake_tool(tmp_path, "udisksctl", "unmount", "Error unmounting /dev/sdz1: target is busy")
    outcome = system_for(tmp_path, STICK, MOUNTS).eject_drives_blocking()
    assert outcome == EjectOutcome(
        (), ("HOLIDAYS, SPARE: Error unmounting /dev/sdz1: target is busy",)
    )
    assert calls(tmp_path, "udisksctl") == [
        "unmount --block-device /dev/sdz1 --no-user-interaction"
    ]


def test_an_unmounted_drive_that_will_not_power_off_is_still_safe(tmp_path: Path) -> None:
    sysfs(tmp_path / "sys", "sdz", "sdz1", "sdz2")
    fake_tool(tmp_path, "udisksctl", "power-off", "Not authorized to perform operation")
    outcome = system_for(tmp_path, STICK, MOUNTS).eject_drives_blocking()
    assert outcome == EjectOutcome(
        (("/dev/sdz", "HOLIDAYS, SPARE"),),
        (),
        ("HOLIDAYS, SPARE was not powered off: Not authorized to perform operation",),
    )


def test_no_usb_drive_means_nothing_to_do(tmp_path: Path) -> None:
    fake_tool(tmp_path, "udisksctl")
    assert system_for(tmp_path, [], MOUNTS).eject_drives_blocking() == EjectOutcome((), ())
    assert calls(tmp_path, "udisksctl") == []


async def test_power_off_asks_systemd_without_a_password_prompt(tmp_path: Path) -> None:
    fake_tool(tmp_path, "systemctl")
    assert await system_for(tmp_path, [], MOUNTS).power_off() is None
    assert calls(tmp_path, "systemctl") == ["poweroff --no-ask-password"]


async def test_a_refused_power_off_says_why(tmp_path: Path) -> None:
    fake_tool(tmp_path, "systemctl", "poweroff", "Access denied")
    assert await system_for(tmp_path, [], MOUNTS).power_off() == "Access denied"


async def test_a_missing_tool_is_an_answer_not_a_crash(tmp_path: Path) -> None:
    problem = await system_for(tmp_path, [], MOUNTS).power_off()
    assert problem is not None and "No such file or directory" in problem
