"""USB drive events from udev properties, fed through the monitor's own handler.

There is no udev daemon here, so the devices are dicts shaped like `udevadm info --query=property`
on a Raspberry Pi OS box (systemd 252): a partition imports its disk's ID_* (bus, vendor, serial,
partition table type) and gets its own ID_FS_* from blkid; a remove event carries only the kernel's
keys.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from hardware.udev import (
    DriveEvent,
    UdevDriveMonitor,
    UsbPartition,
    decode_udev_escapes,
    event_from_udev,
    parse_block_device,
)

USB_PATH = "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-scsi-0:0:0:0"
SANDISK_DISK = {
    "SUBSYSTEM": "block",
    "DEVPATH": "/devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/usb2/2-1"
    "/2-1.3/2-1.3:1.0/host0/target0:0:0/0:0:0:0/block/sda",
    "DEVNAME": "/dev/sda",
    "DEVTYPE": "disk",
    "DISKSEQ": "9",
    "MAJOR": "8",
    "MINOR": "0",
    "ID_BUS": "usb",
    "ID_MODEL": "Ultra",
    "ID_MODEL_ENC": r"Ultra\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20",
    "ID_MODEL_ID": "5581",
    "ID_SERIAL": "SanDisk_Ultra_4C530001230515117215-0:0",
    "ID_SERIAL_SHORT": "4C530001230515117215",
    "ID_VENDOR": "SanDisk",
    "ID_VENDOR_ENC": r"SanDisk\x20",
    "ID_VENDOR_ID": "0781",
    "ID_REVISION": "1.00",
    "ID_TYPE": "disk",
    "ID_INSTANCE": "0:0",
    "ID_USB_DRIVER": "usb-storage",
    "ID_USB_INTERFACES": ":080650:",
    "ID_PATH": USB_PATH,
    "ID_PATH_TAG": USB_PATH.replace(".", "_").replace(":", "_").replace("-", "_"),
    "ID_PART_TABLE_UUID": "5e3da3a4",
    "ID_PART_TABLE_TYPE": "dos",
    "DEVLINKS": "/dev/disk/by-id/usb-SanDisk_Ultra_4C530001230515117215-0:0",
    "TAGS": ":systemd:",
    "CURRENT_TAGS": ":systemd:",
}
EXT4_PARTITION = {
    **SANDISK_DISK,
    "DEVPATH": SANDISK_DISK["DEVPATH"] + "/sda1",
    "DEVNAME": "/dev/sda1",
    "DEVTYPE": "partition",
    "PARTN": "1",
    "MINOR": "1",
    "ID_FS_LABEL": "My_Movies",
    "ID_FS_LABEL_ENC": r"My\x20Movies",
    "ID_FS_UUID": "3e6be9de-8139-11d1-9106-a43f08d823a6",
    "ID_FS_UUID_ENC": "3e6be9de-8139-11d1-9106-a43f08d823a6",
    "ID_FS_VERSION": "1.0",
    "ID_FS_TYPE": "ext4",
    "ID_FS_USAGE": "filesystem",
    "ID_PART_ENTRY_SCHEME": "dos",
    "ID_PART_ENTRY_UUID": "5e3da3a4-01",
    "ID_PART_ENTRY_TYPE": "0x83",
    "ID_PART_ENTRY_NUMBER": "1",
    "ID_PART_ENTRY_OFFSET": "2048",
    "ID_PART_ENTRY_SIZE": "61429760",
    "ID_PART_ENTRY_DISK": "8:0",
}
MY_MOVIES = UsbPartition(
    device="/dev/sda1",
    uuid="3e6be9de-8139-11d1-9106-a43f08d823a6",
    label="My Movies",
    fs_type="ext4",
    vendor="SanDisk",
    model="Ultra",
    serial="4C530001230515117215",
    size_bytes=61429760 * 512,
    device_number="8:1",
)
# A USB-SATA bridge: ata_id ran first, so ID_BUS says "ata"; only ID_PATH shows the USB hop.
NTFS_PORTABLE_DISK = {
    "SUBSYSTEM": "block",
    "DEVNAME": "/dev/sdb2",
    "DEVTYPE": "partition",
    "MAJOR": "8",
    "MINOR": "18",
    "ID_BUS": "ata",
    "ID_ATA": "1",
    "ID_MODEL": "ST2000LM007-1R8174",
    "ID_SERIAL": "ST2000LM007-1R8174_WDZ5J2QK",
    "ID_SERIAL_SHORT": "WDZ5J2QK",
    "ID_PATH": "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:2:1.0-scsi-0:0:0:0",
    "ID_PART_TABLE_TYPE": "gpt",
    "ID_FS_LABEL": "Backup",
    "ID_FS_LABEL_ENC": "Backup",
    "ID_FS_UUID": "0A1B2C3D4E5F6071",
    "ID_FS_TYPE": "ntfs",
    "ID_FS_USAGE": "filesystem",
    "ID_PART_ENTRY_NAME": r"Basic\x20data\x20partition",
    "ID_PART_ENTRY_SIZE": "3906764800",
}
EXFAT_NON_ASCII_LABEL = {
    "SUBSYSTEM": "block",
    "DEVNAME": "/dev/sdc1",
    "DEVTYPE": "partition",
    "MAJOR": "8",
    "MINOR": "33",
    "ID_BUS": "usb",
    "ID_VENDOR": "Kingston",
    "ID_MODEL": "DataTraveler_3.0",
    "ID_MODEL_ENC": r"DataTraveler\x203.0",
    "ID_PART_TABLE_TYPE": "dos",
    "ID_FS_LABEL": "Été_2023",
    "ID_FS_LABEL_ENC": r"Été\x202023",  # udev leaves valid UTF-8 as it is
    "ID_FS_UUID": "1A2B-3C4D",
    "ID_FS_TYPE": "exfat",
    "ID_FS_USAGE": "filesystem",
}
SUPERFLOPPY = {
    "SUBSYSTEM": "block",
    "DEVNAME": "/dev/sdd",
    "DEVTYPE": "disk",
    "MAJOR": "8",
    "MINOR": "48",
    "ID_BUS": "usb",
    "ID_VENDOR": "Generic",
    "ID_MODEL": "Flash_Disk",
    "ID_SERIAL": "Generic_Flash_Disk_8A5C1B2D-0:0",
    "ID_FS_LABEL": "",
    "ID_FS_UUID": "B4FE-5315",
    "ID_FS_VERSION": "FAT32",
    "ID_FS_TYPE": "vfat",
    "ID_FS_USAGE": "filesystem",
}
PI_SD_CARD_ROOT = {
    "SUBSYSTEM": "block",
    "DEVNAME": "/dev/mmcblk0p2",
    "DEVTYPE": "partition",
    "MAJOR": "179",
    "MINOR": "2",
    "ID_NAME": "SC32G",
    "ID_SERIAL": "0x9c1b2f6a",
    "ID_PATH": "platform-fe340000.mmc",
    "ID_PART_TABLE_TYPE": "dos",
    "ID_FS_LABEL": "rootfs",
    "ID_FS_UUID": "56f80fa2-e005-4cca-86e6-19da1069914d",
    "ID_FS_TYPE": "ext4",
    "ID_FS_USAGE": "filesystem",
}
USB_SWAP = {
    **EXT4_PARTITION,
    "DEVNAME": "/dev/sda2",
    "MINOR": "2",
    "ID_FS_UUID": "f6bd6fc2-1d2b-4f3c-9d7c-2d8a4d4e5b6a",
    "ID_FS_TYPE": "swap",
    "ID_FS_USAGE": "other",
}
USB_LUKS = {
    **EXT4_PARTITION,
    "DEVNAME": "/dev/sda3",
    "MINOR": "3",
    "ID_FS_UUID": "0b8c3f4e-2f0e-4e8b-a6a4-6b2b7d0c1e2f",
    "ID_FS_TYPE": "crypto_LUKS",
    "ID_FS_USAGE": "crypto",
}
LOOP_SQUASHFS = {
    "SUBSYSTEM": "block",
    "DEVNAME": "/dev/loop0",
    "DEVTYPE": "disk",
    "ID_FS_UUID": "ab12",
    "ID_FS_TYPE": "squashfs",
    "ID_FS_USAGE": "filesystem",
}
# What the kernel alone puts in a remove uevent; udev's persistent-storage rules are skipped.
EXT4_REMOVED = {
    "SUBSYSTEM": "block",
    "DEVPATH": EXT4_PARTITION["DEVPATH"],
    "DEVNAME": "/dev/sda1",
    "DEVTYPE": "partition",
    "PARTN": "1",
    "MAJOR": "8",
    "MINOR": "1",
    "SEQNUM": "4172",
}


class Recorder:
    def __init__(self) -> None:
        self.events: list[DriveEvent] = []

    def __call__(self, event: DriveEvent) -> None:
        self.events.append(event)


@pytest.fixture
def seen() -> Recorder:
    return Recorder()


@pytest.fixture
def monitor(seen: Recorder, tmp_path: Path) -> UdevDriveMonitor:
    return UdevDriveMonitor(seen, run_udev=tmp_path / "no-udev")


def test_ext4_stick_partition_is_parsed_with_the_spaced_label() -> None:
    assert parse_block_device(EXT4_PARTITION) == MY_MOVIES


def test_usb_sata_bridge_is_recognised_by_its_path() -> None:
    partition = parse_block_device(NTFS_PORTABLE_DISK)
    assert partition is not None
    assert (partition.fs_type, partition.label, partition.serial) == ("ntfs", "Backup", "WDZ5J2QK")
    assert partition.size_bytes == 3906764800 * 512
    assert partition.vendor is None


def test_exfat_label_keeps_its_utf8_and_model_loses_padding() -> None:
    partition = parse_block_device(EXFAT_NON_ASCII_LABEL)
    assert partition is not None
    assert (partition.label, partition.model, partition.uuid) == (
        "Été 2023",
        "DataTraveler 3.0",
        "1A2B-3C4D",
    )
    assert partition.size_bytes is None


def test_superfloppy_stick_without_partition_table_is_a_drive() -> None:
    partition = parse_block_device(SUPERFLOPPY)
    assert partition is not None
    assert (partition.device, partition.fs_type, partition.label) == ("/dev/sdd", "vfat", None)
    assert partition.serial == "Generic_Flash_Disk_8A5C1B2D-0:0"  # no ID_SERIAL_SHORT: full one


@pytest.mark.parametrize(
    "properties",
    [SANDISK_DISK, PI_SD_CARD_ROOT, USB_SWAP, USB_LUKS, LOOP_SQUASHFS, EXT4_REMOVED],
    ids=["disk-with-table", "sd-card", "swap", "luks", "loop", "remove-keys-only"],
)
def test_what_is_not_a_usb_filesystem_is_ignored(properties: dict[str, str]) -> None:
    assert parse_block_device(properties) is None


def test_a_usb_partition_without_uuid_is_ignored() -> None:
    properties = {k: v for k, v in EXT4_PARTITION.items() if not k.startswith("ID_FS_UUID")}
    assert parse_block_device(properties) is None


def test_decode_udev_escapes_rebuilds_utf8_bytes() -> None:
    assert decode_udev_escapes(r"caf\xc3\xa9\x20\x2fmedia") == "café /media"
    assert decode_udev_escapes("plain") == "plain"


def test_event_from_udev_is_stateless() -> None:
    assert event_from_udev("add", EXT4_PARTITION) == DriveEvent("add", MY_MOVIES)
    assert event_from_udev("remove", EXT4_REMOVED) is None
    assert event_from_udev("bind", EXT4_PARTITION) is None


def test_monitor_reports_add_and_maps_a_sparse_remove_back_to_the_partition(
    monitor: UdevDriveMonitor, seen: Recorder
) -> None:
    monitor.handle("add", SANDISK_DISK)
    monitor.handle("add", EXT4_PARTITION)
    monitor.handle("add", PI_SD_CARD_ROOT)
    monitor.handle("remove", EXT4_REMOVED)
    monitor.handle("remove", {**SANDISK_DISK, "ACTION": "remove"})
    assert seen.events == [DriveEvent("add", MY_MOVIES), DriveEvent("remove", MY_MOVIES)]


def test_remove_of_a_device_never_added_is_silent(
    monitor: UdevDriveMonitor, seen: Recorder
) -> None:
    assert monitor.handle("remove", EXT4_REMOVED) == []
    assert seen.events == []


def test_repeated_change_is_dropped_but_a_relabel_is_reported(
    monitor: UdevDriveMonitor, seen: Recorder
) -> None:
    relabelled = {**EXT4_PARTITION, "ID_FS_LABEL": "Films", "ID_FS_LABEL_ENC": "Films"}
    monitor.handle("add", EXT4_PARTITION)
    monitor.handle("change", EXT4_PARTITION)  # udev's watch: someone closed the node after writing
    monitor.handle("change", relabelled)
    films = parse_block_device(relabelled)
    assert films is not None
    assert seen.events == [DriveEvent("add", MY_MOVIES), DriveEvent("change", films)]


def test_reformatting_is_a_remove_then_an_add(monitor: UdevDriveMonitor, seen: Recorder) -> None:
    reformatted = {**EXT4_PARTITION, "ID_FS_UUID": "7C1E-22AB", "ID_FS_TYPE": "exfat"}
    monitor.handle("add", EXT4_PARTITION)
    monitor.handle("change", reformatted)
    monitor.handle("change", {**EXT4_PARTITION, "ID_FS_TYPE": "swap", "ID_FS_USAGE": "other"})
    exfat = parse_block_device(reformatted)
    assert exfat is not None
    assert seen.events == [
        DriveEvent("add", MY_MOVIES),
        DriveEvent("remove", MY_MOVIES),
        DriveEvent("add", exfat),
        DriveEvent("remove", exfat),
    ]


def test_change_that_brings_a_filesystem_is_an_add(
    monitor: UdevDriveMonitor, seen: Recorder
) -> None:
    """A card reader's disk gets "change", not "add", when a card goes in."""
    monitor.handle("change", SUPERFLOPPY)
    floppy = parse_block_device(SUPERFLOPPY)
    assert floppy is not None
    assert seen.events == [DriveEvent("add", floppy)]


async def test_monitor_without_udev_daemon_reports_why_and_logs_once(
    monitor: UdevDriveMonitor, caplog: pytest.LogCaptureFixture
) -> None:
    monitor.start(asyncio.get_running_loop())
    assert not monitor.available
    assert monitor.unavailable_reason is not None
    assert "no udev daemon" in monitor.unavailable_reason
    assert monitor.list_present() == []
    monitor.stop()
    infos = [r for r in caplog.records if r.name == "hardware.udev" and r.levelno == logging.INFO]
    assert len(infos) == 1


async def test_monitor_on_this_machine_works_or_says_why_without_raising(seen: Recorder) -> None:
    monitor = UdevDriveMonitor(seen)
    monitor.start(asyncio.get_running_loop())
    try:
        assert monitor.available or monitor.unavailable_reason
        present = monitor.list_present()
        assert all(isinstance(partition, UsbPartition) for partition in present)
    finally:
        monitor.stop()


async def test_real_netlink_monitor_starts_and_stops_on_the_loop(
    seen: Recorder, tmp_path: Path
) -> None:
    """With udevd's control socket faked, the real pyudev Monitor is opened and read on the loop."""
    (tmp_path / "control").touch()
    monitor = UdevDriveMonitor(seen, run_udev=tmp_path)
    loop = asyncio.get_running_loop()
    monitor.start(loop)
    if not monitor.available:
        pytest.skip(f"netlink refused here: {monitor.unavailable_reason}")
    present = monitor.list_present()  # real block devices, but no udev database to name them
    assert all(isinstance(partition, UsbPartition) for partition in present)
    monitor.stop()
    monitor.stop()
    assert seen.events == []
