"""USB drives: plug one in and its media appears as a library; pull it out and nothing is lost.

Listens to udev (pyudev) for USB filesystems; reads only, never writes to a drive, never mounts
(the OS does). No network. Where udev is absent (a container) it says so once and idles.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import voluptuous as vol

from core.plugin_api import LIBRARY_KINDS, PluginContext
from core.plugin_api import validators as cv
from hardware.mounts import BY_UUID, MOUNTINFO
from hardware.udev import DriveEvent, UdevDriveMonitor
from plugins.usb.drives import DriveRule, UsbDriveManager, mountinfo_lookup


@dataclass(frozen=True)
class UsbConfig:
    """The plugin's settings."""

    auto_add: bool
    drives: tuple[DriveRule, ...]
    mount_timeout: float
    mount_table: Path
    by_uuid: Path


DRIVE_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Optional("label"): cv.non_empty_string,
            vol.Optional("uuid"): cv.non_empty_string,
            vol.Optional("kind"): cv.one_of(*LIBRARY_KINDS),
            vol.Optional("name"): cv.non_empty_string,
        },
        vol.Any(
            vol.Schema({vol.Required("label"): object}, extra=vol.ALLOW_EXTRA),
            vol.Schema({vol.Required("uuid"): object}, extra=vol.ALLOW_EXTRA),
            msg="a drive needs a label or a uuid",
        ),
        lambda d: DriveRule(d.get("label"), d.get("uuid"), d.get("kind"), d.get("name")),
    )
)

CONFIG_SCHEMA = vol.Schema(
    vol.All(
        vol.Any(
            None,
            {
                vol.Optional("auto_add", default=True): cv.boolean,
                vol.Optional("drives", default=list): [DRIVE_SCHEMA],
                vol.Optional("mount_timeout", default=30): cv.integer(1, 600),
                vol.Optional("mount_table", default=str(MOUNTINFO)): cv.absolute_path,
                vol.Optional("by_uuid", default=str(BY_UUID)): cv.absolute_path,
            },
        ),
        lambda d: _build(d or {}),
    )
)


@dataclass(frozen=True)
class UsbRuntime:
    """What the plugin holds while it runs: the event handler and the udev bridge."""

    manager: UsbDriveManager
    monitor: UdevDriveMonitor


def _build(data: dict[str, Any]) -> UsbConfig:
    return UsbConfig(
        data.get("auto_add", True),
        tuple(data.get("drives", [])),
        float(data.get("mount_timeout", 30)),
        Path(data.get("mount_table", MOUNTINFO)),
        Path(data.get("by_uuid", BY_UUID)),
    )


async def setup(ctx: PluginContext, config: UsbConfig) -> None:
    """Listen for drives and add the ones already plugged in."""
    manager = UsbDriveManager(
        ctx,
        config.auto_add,
        config.drives,
        mountinfo_lookup(config.mount_table, config.by_uuid),
        config.mount_timeout,
    )
    monitor = UdevDriveMonitor(manager.on_event)
    ctx.state = UsbRuntime(manager, monitor)
    if not monitor.available:
        ctx.report({"udev": "unavailable", "reason": monitor.unavailable_reason})
        return
    monitor.start(asyncio.get_running_loop())
    ctx.on_teardown(monitor.stop)
    for partition in monitor.list_present():
        manager.on_event(DriveEvent("add", partition))
    if ctx.live:
        ctx.create_task(manager.check_mounts(30.0), "check-mounts")
    ctx.report({"udev": "listening"})
