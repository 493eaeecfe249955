"""Finding where a USB filesystem is mounted, from mountinfo text and a fake /dev/disk/by-uuid."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hardware.mounts import (
    MountEntry,
    is_mounted_blocking,
    mount_point_for,
    parse_mountinfo,
    wait_for_mount,
)

# A Pi with an SD card, a udisks2-mounted stick whose label has a space, and a read-only NTFS disk
# mounted by systemd, plus a bind mount of one folder of the stick.
MOUNTINFO = """\
22 28 0:21 / /proc rw,relatime shared:12 - proc proc rw
28 1 179:2 / / rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw
31 28 179:1 / /boot/firmware rw,relatime shared:15 - vfat /dev/mmcblk0p1 rw,fmask=0022,codepage=437
412 28 8:1 /Films /srv/films rw,nosuid,nodev,relatime shared:230 - ext4 /dev/sda1 rw
405 28 8:1 / /media/pi/My\\040Movies rw,nosuid,nodev,relatime shared:226 - ext4 /dev/sda1 rw
420 28 8:18 / /mnt/backup ro,nosuid,nodev,noexec,relatime shared:240 - ntfs3 /dev/sdb2 ro,uid=1000
garbage line
"""
UUID = "3e6be9de-8139-11d1-9106-a43f08d823a6"


def test_mountinfo_unescapes_the_space_and_reads_every_field() -> None:
    entries = parse_mountinfo(MOUNTINFO)
    assert len(entries) == 6
    stick = entries[4]
    assert stick == MountEntry(
        mount_id=405,
        parent_id=28,
        device_number="8:1",
        root="/",
        mount_point=Path("/media/pi/My Movies"),
        mount_options=("rw", "nosuid", "nodev", "relatime"),
        fs_type="ext4",
        source="/dev/sda1",
        super_options=("rw",),
    )
    assert not stick.read_only
    assert entries[5].read_only
    assert entries[0].mount_point == Path("/proc")


def test_mountinfo_escapes_tab_newline_and_backslash() -> None:
    line = r"50 28 8:1 / /media/a\011b\012c\134d rw - vfat /dev/sdc1 rw"
    assert parse_mountinfo(line)[0].mount_point == Path("/media/a\tb\nc\\d")


def test_a_filesystem_read_only_below_the_mount_is_read_only() -> None:
    entry = parse_mountinfo(
        "60 28 8:33 / /mnt/x rw,relatime - exfat /dev/sdc1 ro,errors=remount-ro"
    )
    assert entry[0].read_only


def test_this_machines_mountinfo_parses_and_has_a_root() -> None:
    entries = parse_mountinfo(Path("/proc/self/mountinfo").read_text(encoding="utf-8"))
    assert Path("/") in {entry.mount_point for entry in entries}


def test_mount_point_by_device_node_skips_the_bind_mount_of_a_folder() -> None:
    entry = mount_point_for("/dev/sda1", None, MOUNTINFO)
    assert entry is not None
    assert entry.mount_point == Path("/media/pi/My Movies")


def test_mount_point_by_uuid_follows_the_by_uuid_symlink(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    (dev / "disk" / "by-uuid").mkdir(parents=True)
    (dev / "sda1").touch()  # a plain file stands in for the device node
    (dev / "disk" / "by-uuid" / UUID).symlink_to("../../sda1")
    text = MOUNTINFO.replace("/dev/sda1", str(dev / "sda1"))
    entry = mount_point_for(None, UUID, text, by_uuid_dir=dev / "disk" / "by-uuid")
    assert entry is not None
    assert (entry.mount_point, entry.read_only) == (Path("/media/pi/My Movies"), False)


def test_mount_point_by_device_number_and_read_only_flag(tmp_path: Path) -> None:
    entry = mount_point_for(None, None, MOUNTINFO, tmp_path, device_number="8:18")
    assert entry is not None
    assert (entry.mount_point, entry.read_only) == (Path("/mnt/backup"), True)


def test_unmounted_or_unknown_filesystem_has_no_mount_point(tmp_path: Path) -> None:
    assert mount_point_for("/dev/sdc1", "1A2B-3C4D", MOUNTINFO, tmp_path) is None
    assert mount_point_for(None, None, MOUNTINFO, tmp_path) is None


async def test_wait_for_mount_returns_once_the_lookup_answers() -> None:
    answers = iter([None, None, Path("/media/pi/My Movies")])
    calls = 0

    def lookup() -> Path | None:
        nonlocal calls
        calls += 1
        return next(answers)

    assert await wait_for_mount(lookup, timeout=5, interval=0.001) == Path("/media/pi/My Movies")
    assert calls == 3


async def test_wait_for_mount_gives_up_after_the_timeout() -> None:
    def never_mounted() -> Path | None:
        return None

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await wait_for_mount(never_mounted, timeout=0.05, interval=0.01) is None
    assert 0.05 <= loop.time() - started < 1


def test_empty_folder_left_by_a_yanked_drive_is_not_mounted(tmp_path: Path) -> None:
    leftover = tmp_path / "My Movies"
    leftover.mkdir()
    assert not is_mounted_blocking(leftover)
    assert not is_mounted_blocking(tmp_path / "never-existed")
    assert is_mounted_blocking(Path("/"))


def test_a_bind_mount_on_the_same_filesystem_is_found_in_mountinfo(tmp_path: Path) -> None:
    folder = tmp_path / "bound here"
    folder.mkdir()
    mountinfo = tmp_path / "mountinfo"
    escaped = str(folder).replace(" ", "\\040")
    mountinfo.write_text(f"70 28 254:0 /srv {escaped} rw - ext4 /dev/vda rw\n", encoding="utf-8")
    assert is_mounted_blocking(folder, mountinfo)
