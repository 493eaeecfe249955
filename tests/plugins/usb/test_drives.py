"""USB drives end to end: udev events shaped like pyudev's, fed through the monitor's own
handler, a real folder as the mount point, and a real server answering for the items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import video
from tests.core.scan.test_scanner import items, settle

UUID = "5E4A-1B2C"


def partition(device: str = "/dev/sdz1", label: str = "HOLIDAYS") -> dict[str, str]:
    """What udev says about a FAT-formatted USB stick's first partition."""
    return {
        "ACTION": "add",
        "DEVNAME": device,
        "DEVTYPE": "partition",
        "SUBSYSTEM": "block",
        "MAJOR": "8",
        "MINOR": "209",
        "ID_BUS": "usb",
        "ID_PATH": "pci-0000:01:00.0-usb-0:1.3:1.0-scsi-0:0:0:0",
        "ID_VENDOR": "SanDisk",
        "ID_MODEL": "Ultra",
        "ID_SERIAL": "SanDisk_Ultra_4C530001",
        "ID_FS_UUID": UUID,
        "ID_FS_LABEL": label,
        "ID_FS_LABEL_ENC": label,
        "ID_FS_TYPE": "vfat",
        "ID_FS_USAGE": "filesystem",
        "ID_PART_ENTRY_SIZE": "61071360",
    }


def mounted(table: Path, device: str, mount: Path | None) -> None:
    """Write the kernel's mount table as it looks with (or without) the stick mounted."""
    lines = ["22 1 179:2 / / rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw"]
    if mount is not None:
        point = str(mount).replace(" ", "\\040")
        lines.append(f"95 22 8:209 / {point} ro,nosuid,nodev shared:50 - vfat {device} ro")
    table.write_text("\n".join(lines) + "\n")


async def start_with_usb(start_server: StartServer, tmp_path: Path) -> tuple[RunningServer, Any]:
    table = tmp_path / "mountinfo"
    mounted(table, "/dev/sdz1", None)
    (tmp_path / "by-uuid").mkdir()
    server = await start_server(
        f"usb:\n  mount_table: {table}\n  by_uuid: {tmp_path / 'by-uuid'}\n"
        "  mount_timeout: 3\nfilename:\n"
    )
    runtime = server.hub.records["usb"].context.state  # type: ignore[union-attr]
    return server, runtime


async def test_drive_added_removed_and_returned_keeps_items_and_ids(
    start_server: StartServer, tmp_path: Path
) -> None:
    stick = tmp_path / "media" / "HOLIDAYS"
    video(stick, "Videos/2023-08-01 Lake.mp4")
    video(stick, "Videos/2023-08-02 Boat.mp4")
    server, runtime = await start_with_usb(start_server, tmp_path)
    table = tmp_path / "mountinfo"

    mounted(table, "/dev/sdz1", stick)
    events = runtime.monitor.handle("add", partition())
    assert [e.action for e in events] == ["add"]
    await runtime.manager.settled()
    await settle(server)
    libraries = (await server.get_json("/api/libraries"))["libraries"]
    assert [(lib["name"], lib["kind"], lib["online"]) for lib in libraries] == [  # type: ignore[attr-defined]
        ("HOLIDAYS", "videos", True)
    ]
    library_id = libraries[0]["id"]  # type: ignore[index]
    before = {i["title"]: i["id"] for i in await items(server, library=library_id, kind="video")}
    assert set(before) == {"2023-08-01 Lake", "2023-08-02 Boat"}
    any_id = next(iter(before.values()))
    async with server.session.get(f"{server.url}/api/items/{any_id}/stream") as reply:
        assert reply.status == 200

    # pulled out: udev's remove event carries only a few properties
    mounted(table, "/dev/sdz1", None)
    stick.rename(tmp_path / "elsewhere")
    runtime.monitor.handle(
        "remove", {"ACTION": "remove", "DEVNAME": "/dev/sdz1", "SUBSYSTEM": "block"}
    )
    await runtime.manager.settled()
    await settle(server)
    assert await items(server, library=library_id, kind="video") == []
    async with server.session.get(f"{server.url}/api/items/{any_id}/stream") as reply:
        assert reply.status == 410
        body = await reply.json()
    assert body["error"]["code"] == "library_offline"
    assert "HOLIDAYS" in body["error"]["message"]
    detail = await server.get_json(f"/api/items/{any_id}")
    assert detail["online"] is False

    # back, mounted somewhere else: same items, same ids, nothing probed again
    new_mount = tmp_path / "media" / "HOLIDAYS1"
    (tmp_path / "elsewhere").rename(new_mount)
    mounted(table, "/dev/sdz1", new_mount)
    runtime.monitor.handle("add", partition())
    await runtime.manager.settled()
    await settle(server)
    after = {i["title"]: i["id"] for i in await items(server, library=library_id, kind="video")}
    assert after == before
    assert server.hub.scans.last["HOLIDAYS"].probed == 0
    async with server.session.get(f"{server.url}/api/items/{any_id}/stream") as reply:
        assert reply.status == 200


async def test_only_listed_drives_are_added_when_auto_add_is_off(
    start_server: StartServer, tmp_path: Path
) -> None:
    stick = tmp_path / "stick"
    video(stick, "a.mkv")
    table = tmp_path / "mountinfo"
    mounted(table, "/dev/sdz1", stick)
    server = await start_server(
        f"usb:\n  auto_add: false\n  mount_table: {table}\n  mount_timeout: 1\n"
        "  drives:\n    - {label: FAMILY, kind: videos, name: Family films}\n"
    )
    runtime = server.hub.records["usb"].context.state  # type: ignore[union-attr]
    runtime.monitor.handle("add", partition(label="HOLIDAYS"))
    await runtime.manager.settled()
    assert server.hub.sources.names() == []
    runtime.monitor.handle("remove", {"DEVNAME": "/dev/sdz1"})
    runtime.monitor.handle("add", partition(label="FAMILY"))
    await runtime.manager.settled()
    await settle(server)
    libraries = (await server.get_json("/api/libraries"))["libraries"]
    assert [(lib["name"], lib["kind"]) for lib in libraries] == [("Family films", "videos")]  # type: ignore[attr-defined]


async def test_a_drive_that_is_never_mounted_is_reported_not_added(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, runtime = await start_with_usb(start_server, tmp_path)
    runtime.manager._mount_timeout = 0.3
    runtime.monitor.handle("add", partition())
    await runtime.manager.settled()
    assert server.hub.sources.names() == []


async def test_the_pis_own_sd_card_is_never_a_library(
    start_server: StartServer, tmp_path: Path
) -> None:
    _, runtime = await start_with_usb(start_server, tmp_path)
    sd = {
        **partition(),
        "DEVNAME": "/dev/mmcblk0p2",
        "ID_BUS": "",
        "ID_PATH": "platform-fe340000.mmc",
    }
    assert runtime.monitor.handle("add", sd) == []


def test_udev_is_reported_unavailable_here_without_failing() -> None:
    from hardware.udev import UdevDriveMonitor

    monitor = UdevDriveMonitor(lambda event: None)
    assert isinstance(monitor.available, bool)
    if not monitor.available:
        assert monitor.unavailable_reason


def test_a_drives_kind_is_guessed_from_what_is_on_it(tmp_path: Path) -> None:
    from plugins.usb.drives import guess_kind_blocking

    layouts = {
        "music": ["Artist/Album/01 - a.mp3", "Artist/Album/02 - b.flac", "cover.jpg"],
        "photos": ["DCIM/IMG_0001.jpg", "DCIM/IMG_0002.jpg", "clip.mp4"],
        "shows": ["Show/Season 1/Show - S01E01.mkv", "Show/Season 1/Show - S01E02.mkv"],
        "movies": ["Alien (1979).mkv", "Heat (1995).mkv"],
        "videos": ["2021-06-01 Party.mp4", "VID_20210602_101010.mp4"],
    }
    for kind, names in layouts.items():
        root = tmp_path / kind
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(b"x")
        assert guess_kind_blocking(root) == kind
