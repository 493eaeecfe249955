"""Finding encoder device nodes in fake /dev and /sys trees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.devices import RenderNode, V4l2Node, scan_devices_blocking


def test_pi4_has_the_bcm2835_h264_encoder_node(make_box: Callable[..., Any]) -> None:
    box = make_box("pi4")
    devices = scan_devices_blocking(box.root)
    assert devices.pi_h264_encoder == V4l2Node("/dev/video11", "bcm2835-codec-encode")
    assert [n.path for n in devices.v4l2_nodes] == [
        "/dev/video10",
        "/dev/video11",
        "/dev/video12",
        "/dev/video18",
        "/dev/video19",
    ]


def test_pi_render_node_is_a_v3d_gpu_without_vaapi(make_box: Callable[..., Any]) -> None:
    devices = scan_devices_blocking(make_box("pi4").root)
    assert devices.render_nodes == (RenderNode("/dev/dri/renderD128", "v3d", None),)
    assert not devices.render_nodes[0].may_have_vaapi
    assert not devices.render_nodes[0].is_intel


def test_pi5_has_codec_nodes_but_no_h264_encoder(make_box: Callable[..., Any]) -> None:
    devices = scan_devices_blocking(make_box("pi5").root)
    assert [n.name for n in devices.v4l2_nodes] == [
        "rpi-hevc-dec",
        "pispbe-input",
        "pispbe-tdn_input",
    ]
    assert devices.pi_h264_encoder is None


def test_intel_render_node_is_recognised_by_pci_vendor(make_box: Callable[..., Any]) -> None:
    devices = scan_devices_blocking(make_box("intel").root)
    (node,) = devices.render_nodes
    assert node == RenderNode("/dev/dri/renderD128", "i915", "0x8086")
    assert node.is_intel and node.may_have_vaapi
    assert not devices.has_nvidia


def test_nvidia_gpu_nodes_exclude_uvm_and_modeset(make_box: Callable[..., Any]) -> None:
    devices = scan_devices_blocking(make_box("nvidia").root)
    assert devices.nvidia_nodes == ("/dev/nvidia0", "/dev/nvidiactl")
    assert devices.has_nvidia
    assert devices.render_nodes[0].driver == "nvidia"


def test_nvidia_without_control_node_is_not_usable(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "nvidia0").touch()
    assert not scan_devices_blocking(tmp_path).has_nvidia


def test_sysfs_video_entry_without_its_dev_node_is_ignored(tmp_path: Path) -> None:
    sys_entry = tmp_path / "sys" / "class" / "video4linux" / "video11"
    sys_entry.mkdir(parents=True)
    (sys_entry / "name").write_text("bcm2835-codec-encode\n", encoding="utf-8")
    assert scan_devices_blocking(tmp_path).pi_h264_encoder is None


def test_empty_root_finds_no_devices(tmp_path: Path) -> None:
    devices = scan_devices_blocking(tmp_path)
    assert devices.paths() == ()
    assert devices.pi_h264_encoder is None and not devices.has_nvidia
