"""Fake boxes for hardware tests: /proc, /sys and /dev trees in tmp_path plus recorded ffmpeg.

A `FakeBox` is a Raspberry Pi 4, a Raspberry Pi 5, an Intel NUC with VA-API/QSV or a desktop with
an NVIDIA GPU: its tree holds what those machines expose (device nodes are plain files — only
their existence is checked), and its runner answers ffmpeg and vcgencmd from files in `data/`
(see data/README.md for which outputs were recorded and which were written by hand).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hardware.commands import CommandResult
from hardware.report import HardwareReport, detect_blocking

DATA = Path(__file__).parent / "data"
NVIDIA_NODES = ("nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-modeset")


def data_text(relative: str) -> str:
    return (DATA / relative).read_text(encoding="utf-8")


ENCODE_OK = CommandResult(0, data_text("encode/ok.progress"), "")


def encode_failure(recording: str) -> CommandResult:
    return CommandResult(1, "", data_text(f"encode/{recording}.stderr"))


class RecordedRunner:
    """A CommandRunner answering from recordings; it remembers every argv it was given."""

    def __init__(
        self, build: str, encodes: Mapping[str, CommandResult], throttled: str | None
    ) -> None:
        self.build = build
        self.encodes = dict(encodes)
        self.throttled = throttled
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult:
        args = list(argv)
        self.calls.append(args)
        if Path(args[0]).name == "vcgencmd":
            assert self.throttled is not None, "vcgencmd run on a box that has none"
            return CommandResult(0, self.throttled, "")
        if len(args) == 3 and args[1] == "-hide_banner":
            return CommandResult(0, data_text(f"ffmpeg/{self.build}/{args[2][1:]}.txt"), "")
        encoder = args[args.index("-c:v") + 1]
        assert encoder in self.encodes, f"unexpected test encode with {encoder}"
        return self.encodes[encoder]

    @property
    def encoded(self) -> list[str]:
        """Encoders that got a test encode, in order."""
        return [call[call.index("-c:v") + 1] for call in self.calls if "-c:v" in call]


@dataclass
class BoxSpec:
    build: str
    files: dict[str, str | bytes]
    links: dict[str, str] = field(default_factory=dict)
    encodes: dict[str, CommandResult] = field(default_factory=dict)
    throttled: str | None = None


def _render_node(driver: str, vendor: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    files = {"dev/dri/card0": "", "dev/dri/renderD128": ""}
    if vendor:
        files["sys/class/drm/renderD128/device/vendor"] = f"{vendor}\n"
    bus = "pci" if vendor else "platform"
    links = {"sys/class/drm/renderD128/device/driver": f"../../../../bus/{bus}/drivers/{driver}"}
    return files, links


def _v4l2(nodes: Mapping[int, str]) -> dict[str, str]:
    files = {}
    for number, name in nodes.items():
        files[f"dev/video{number}"] = ""
        files[f"sys/class/video4linux/video{number}/name"] = f"{name}\n"
    return files


def _meminfo(total_kb: int, available_kb: int) -> str:
    free = available_kb // 2
    lines = [f"MemTotal: {total_kb} kB", f"MemFree: {free} kB", f"MemAvailable: {available_kb} kB"]
    return "".join(f"{line}\n" for line in lines)


def _thermal(zones: Sequence[tuple[str, int]]) -> dict[str, str]:
    files = {}
    for number, (kind, millidegrees) in enumerate(zones):
        files[f"sys/class/thermal/thermal_zone{number}/type"] = f"{kind}\n"
        files[f"sys/class/thermal/thermal_zone{number}/temp"] = f"{millidegrees}\n"
    return files


def _pi(generation: int, soc: str, model: str, kernel: str) -> dict[str, str | bytes]:
    return {
        "proc/device-tree/model": f"{model}\x00".encode(),
        "proc/device-tree/compatible": (
            f"raspberrypi,{generation}-model-b\x00brcm,{soc}\x00".encode()
        ),
        "proc/cpuinfo": data_text(f"proc/pi{generation}-cpuinfo.txt"),
        "proc/sys/kernel/osrelease": f"{kernel}\n",
    }


def _spec(kind: str) -> BoxSpec:
    if kind == "pi4":
        render, links = _render_node("v3d")
        files: dict[str, str | bytes] = {
            **_pi(4, "bcm2711", "Raspberry Pi 4 Model B Rev 1.4", "6.6.51+rpt-rpi-v8"),
            "proc/meminfo": _meminfo(3884328, 3285120),
            **_thermal([("cpu-thermal", 52582)]),
            **_v4l2(
                {
                    10: "bcm2835-codec-decode",
                    11: "bcm2835-codec-encode",
                    12: "bcm2835-codec-isp",
                    18: "bcm2835-codec-image_fx",
                    19: "rpivid",
                }
            ),
            **render,
        }
        encodes = {"h264_v4l2m2m": ENCODE_OK, "libx264": ENCODE_OK}
        return BoxSpec("rpios12-arm64", files, links, encodes, "throttled=0x50005\n")
    if kind == "pi5":
        render, links = _render_node("v3d")
        files = {
            **_pi(5, "bcm2712", "Raspberry Pi 5 Model B Rev 1.0", "6.6.51+rpt-rpi-2712"),
            "proc/meminfo": _meminfo(8128452, 7602112),
            **_thermal([("cpu_thermal", 61350)]),
            **_v4l2({19: "rpi-hevc-dec", 20: "pispbe-input", 21: "pispbe-tdn_input"}),
            **render,
        }
        return BoxSpec("rpios12-arm64", files, links, {"libx264": ENCODE_OK}, "throttled=0x0\n")
    if kind == "intel":
        render, links = _render_node("i915", "0x8086")
        files = {
            "proc/cpuinfo": data_text("proc/intel-nuc-cpuinfo.txt"),
            "proc/meminfo": _meminfo(16248592, 14100232),
            "proc/sys/kernel/osrelease": "6.1.0-28-amd64\n",
            **_thermal([("acpitz", 27800), ("x86_pkg_temp", 45000)]),
            **render,
        }
        encodes = {name: ENCODE_OK for name in ("h264_vaapi", "hevc_vaapi", "h264_qsv", "libx264")}
        return BoxSpec("debian12-amd64", files, links, encodes)
    if kind == "nvidia":
        render, links = _render_node("nvidia", "0x10de")
        files = {
            "proc/cpuinfo": data_text("proc/ryzen-cpuinfo.txt"),
            "proc/meminfo": _meminfo(32803248, 29117520),
            "proc/sys/kernel/osrelease": "5.15.0-125-generic\n",
            **_thermal([("acpitz", 16800)]),
            **{f"dev/{node}": "" for node in NVIDIA_NODES},
            **render,
        }
        vaapi_fails = encode_failure("vaapi-nvidia-init-failed")
        encodes = {
            "h264_vaapi": vaapi_fails,
            "hevc_vaapi": vaapi_fails,
            "h264_nvenc": ENCODE_OK,
            "libx264": ENCODE_OK,
        }
        return BoxSpec("ubuntu2204-amd64", files, links, encodes)
    raise ValueError(kind)


def write_tree(root: Path, files: Mapping[str, str | bytes], links: Mapping[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for relative, target in links.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)  # dangling on purpose: only the link's name is read


@dataclass
class FakeBox:
    root: Path
    ffmpeg: Path
    runner: RecordedRunner

    def which(self, name: str) -> str | None:
        has_vcgencmd = self.runner.throttled is not None
        return "/usr/bin/vcgencmd" if name == "vcgencmd" and has_vcgencmd else None

    def detect(self, **options: Any) -> HardwareReport:
        return detect_blocking(self.root, self.ffmpeg, self.runner, which=self.which, **options)


@pytest.fixture
def make_box(tmp_path: Path) -> Callable[..., FakeBox]:
    """`make_box("pi4", encodes={...})`: build a fake box; `encodes` overrides recorded results."""

    def build(kind: str, encodes: Mapping[str, CommandResult] | None = None) -> FakeBox:
        spec = _spec(kind)
        root = tmp_path / kind
        write_tree(root, spec.files, spec.links)
        ffmpeg = tmp_path / f"{kind}-bin" / "ffmpeg"  # never executed: the runner answers
        ffmpeg.parent.mkdir()
        ffmpeg.write_text("#!/bin/sh\nexit 99\n", encoding="utf-8")
        ffmpeg.chmod(0o755)
        runner = RecordedRunner(spec.build, {**spec.encodes, **(encodes or {})}, spec.throttled)
        return FakeBox(root, ffmpeg, runner)

    return build


@pytest.fixture
def recorded() -> Callable[[str], str]:
    """`recorded("ffmpeg/debian12-amd64/encoders.txt")`: the text of a file in data/."""
    return data_text


@pytest.fixture
def encode_ok() -> CommandResult:
    return ENCODE_OK


@pytest.fixture
def failed_encode() -> Callable[[str], CommandResult]:
    """`failed_encode("nvenc-no-libcuda")`: a recorded failing test encode."""
    return encode_failure
