"""Which video-encoding device nodes exist: DRM render nodes, Raspberry Pi V4L2 codec nodes, NVIDIA.

Everything is read below a `root` (default "/") so tests point it at a fake /dev + /sys tree;
the paths reported are the ones ffmpeg would be given on the box itself ("/dev/dri/renderD128"),
never root-prefixed. This module only looks: it never opens a device, so a node being present
says nothing about drivers or permissions — test encodes in `hardware.encoders` settle that.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PI_H264_ENCODER_NAME = "bcm2835-codec-encode"
"""V4L2 name of the Raspberry Pi's H.264 encoder (/dev/video11 on Pi 1 to 4; Pi 5 has none)."""

INTEL_PCI_VENDOR = "0x8086"

_NO_VAAPI_DRIVERS = frozenset({"v3d", "vc4"})
"""Raspberry Pi GPUs expose renderD128 for 3D only; no VA-API driver exists for them, so offering
VAAPI candidates there would only produce a guaranteed-failing test encode."""

_TRAILING_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True, slots=True)
class RenderNode:
    """A DRM render node; `driver` is the kernel driver ("i915", "amdgpu", "v3d"), if known."""

    path: str
    driver: str | None
    vendor_id: str | None

    @property
    def is_intel(self) -> bool:
        return self.vendor_id == INTEL_PCI_VENDOR or self.driver in {"i915", "xe"}

    @property
    def may_have_vaapi(self) -> bool:
        return self.driver not in _NO_VAAPI_DRIVERS


@dataclass(frozen=True, slots=True)
class V4l2Node:
    """A /dev/videoN node with the name its driver gives it in sysfs."""

    path: str
    name: str


@dataclass(frozen=True, slots=True)
class DeviceInventory:
    render_nodes: tuple[RenderNode, ...]
    v4l2_nodes: tuple[V4l2Node, ...]
    nvidia_nodes: tuple[str, ...]

    @property
    def pi_h264_encoder(self) -> V4l2Node | None:
        return next((n for n in self.v4l2_nodes if PI_H264_ENCODER_NAME in n.name), None)

    @property
    def has_nvidia(self) -> bool:
        """The proprietary driver needs both the control node and at least one GPU node."""
        control = "/dev/nvidiactl" in self.nvidia_nodes
        return control and any(_TRAILING_NUMBER.search(p) for p in self.nvidia_nodes)

    def paths(self) -> tuple[str, ...]:
        """Every node found, sorted: a fingerprint that changes when hardware is added/removed."""
        found = [n.path for n in self.render_nodes] + [n.path for n in self.v4l2_nodes]
        return tuple(sorted([*found, *self.nvidia_nodes]))


def _node_number(path: Path) -> int:
    found = _TRAILING_NUMBER.search(path.name)
    return int(found.group(1)) if found else -1


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip("\x00\n ")
    except OSError:
        return None


def _driver_name(device_dir: Path) -> str | None:
    # sysfs: .../device/driver -> ../../../bus/pci/drivers/i915; only the link's last part matters.
    try:
        return Path(os.readlink(device_dir / "driver")).name
    except OSError:
        return None


def _render_nodes(root: Path) -> tuple[RenderNode, ...]:
    nodes = []
    for dev in sorted((root / "dev" / "dri").glob("renderD*"), key=_node_number):
        device_dir = root / "sys" / "class" / "drm" / dev.name / "device"
        nodes.append(
            RenderNode(
                path=f"/dev/dri/{dev.name}",
                driver=_driver_name(device_dir),
                vendor_id=_read_text(device_dir / "vendor"),
            )
        )
    return tuple(nodes)


def _v4l2_nodes(root: Path) -> tuple[V4l2Node, ...]:
    nodes = []
    sys_dir = root / "sys" / "class" / "video4linux"
    for entry in sorted(sys_dir.glob("video*"), key=_node_number):
        name = _read_text(entry / "name")
        if name is None or not (root / "dev" / entry.name).exists():
            continue  # a sysfs entry without its /dev node is unusable (e.g. udev not run yet)
        nodes.append(V4l2Node(path=f"/dev/{entry.name}", name=name))
    return tuple(nodes)


def _nvidia_nodes(root: Path) -> tuple[str, ...]:
    dev = root / "dev"
    # nvidia0, nvidia1, …: one per GPU; nvidia-uvm and nvidia-modeset are not GPUs.
    gpus = [p for p in dev.glob("nvidia*") if p.name.removeprefix("nvidia").isdigit()]
    names = [p.name for p in sorted(gpus, key=_node_number)]
    if (dev / "nvidiactl").exists():
        names.append("nvidiactl")
    return tuple(f"/dev/{name}" for name in names)


def scan_devices_blocking(root: str | os.PathLike[str] = "/") -> DeviceInventory:
    """List encoder-relevant device nodes under `root` (a handful of stat/readlink calls)."""
    base = Path(root)
    return DeviceInventory(
        render_nodes=_render_nodes(base),
        v4l2_nodes=_v4l2_nodes(base),
        nvidia_nodes=_nvidia_nodes(base),
    )
