"""What box this is: board model and SoC, CPU model and cores, RAM, kernel release.

Read from files below a `root` (default "/") — /proc/device-tree, /proc/cpuinfo, /proc/meminfo,
/proc/sys/kernel/osrelease — so tests use fake trees of a Pi or a PC. These are facts that do not
change while the box runs; live readings (temperature, throttling) live in `hardware.health`.
This module never runs a program and never writes anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

_ARM_PARTS = {
    "0xb76": "ARM1176",  # Pi 1, Zero
    "0xc07": "ARM Cortex-A7",  # Pi 2
    "0xd03": "ARM Cortex-A53",  # Pi 3, Zero 2
    "0xd08": "ARM Cortex-A72",  # Pi 4, 400, CM4
    "0xd0b": "ARM Cortex-A76",  # Pi 5, 500, CM5
}
_SOC_COMPATIBLE = re.compile(r"^brcm,(bcm\d{4})$")
# When /proc/device-tree/compatible is missing, the model string still names the generation.
_PI_GENERATIONS = (
    (re.compile(r"Raspberry Pi (5|500|Compute Module 5)\b"), "bcm2712"),
    (re.compile(r"Raspberry Pi (4|400|Compute Module 4)"), "bcm2711"),
    (re.compile(r"Raspberry Pi (3|Zero 2|Compute Module 3)"), "bcm2837"),
)


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """Identity of the box; any field is None when this kernel or platform does not say."""

    model: str | None
    soc: str | None
    cpu_model: str | None
    cpu_cores: int | None
    ram_total_bytes: int | None
    ram_available_bytes: int | None
    kernel: str | None

    @property
    def is_raspberry_pi(self) -> bool:
        return self.model is not None and self.model.startswith("Raspberry Pi")


def parse_device_tree_string(raw: bytes) -> str | None:
    """Device-tree strings are NUL-terminated; an empty one means "not set"."""
    text = raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    return text or None


def parse_soc(compatible: bytes | None, model: str | None) -> str | None:
    """The Broadcom SoC ("bcm2711"), from the device-tree compatible list or else the model."""
    if compatible:
        for entry in compatible.split(b"\x00"):
            found = _SOC_COMPATIBLE.match(entry.decode("ascii", errors="replace"))
            if found:
                return found.group(1)
    if model:
        for pattern, soc in _PI_GENERATIONS:
            if pattern.search(model):
                return soc
    return None


def parse_cpuinfo(text: str) -> tuple[str | None, int]:
    """CPU model and logical core count from /proc/cpuinfo.

    x86 names its CPU in "model name"; arm64 kernels print only numeric ids ("CPU part: 0xd08"),
    so the part number is mapped to the core's name for the cores Raspberry Pis use.
    """
    model: str | None = None
    part: str | None = None
    cores = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "processor" and value.isdigit():
            cores += 1
        elif key in {"model name", "Processor"} and model is None and value:
            model = value
        elif key == "CPU part" and part is None:
            part = value.lower()
    if model is None and part is not None:
        model = _ARM_PARTS.get(part, f"ARM part {part}")
    return model, cores


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """MemTotal and MemAvailable from /proc/meminfo, in bytes (the file counts kibibytes)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if key in {"MemTotal", "MemAvailable"} and fields and fields[0].isdigit():
            values[key] = int(fields[0]) * 1024
    return values.get("MemTotal"), values.get("MemAvailable")


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _read_text(path: Path) -> str | None:
    raw = _read_bytes(path)
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _is_live_root(root: Path) -> bool:
    # Fallbacks that ask the running system (psutil, os.cpu_count) only make sense for "/":
    # a fake tree must never be mixed with the test machine's own numbers.
    return root.resolve() == Path("/")


def read_board_blocking(
    root: str | os.PathLike[str] = "/",
    cpu_count: Callable[[], int | None] = os.cpu_count,
) -> BoardInfo:
    """Read the box's identity from the files under `root` (a few small reads)."""
    base = Path(root)
    live = _is_live_root(base)
    model_raw = _read_bytes(base / "proc" / "device-tree" / "model")
    model = parse_device_tree_string(model_raw) if model_raw is not None else None
    soc = parse_soc(_read_bytes(base / "proc" / "device-tree" / "compatible"), model)

    cpuinfo = _read_text(base / "proc" / "cpuinfo")
    cpu_model, cores = parse_cpuinfo(cpuinfo) if cpuinfo is not None else (None, 0)
    cpu_cores = cores or (cpu_count() if live else None)

    meminfo = _read_text(base / "proc" / "meminfo")
    total, available = parse_meminfo(meminfo) if meminfo is not None else (None, None)
    if total is None and live:  # no /proc (a developer's macOS): psutil knows another way
        memory = psutil.virtual_memory()
        total, available = memory.total, memory.available

    kernel = (_read_text(base / "proc" / "sys" / "kernel" / "osrelease") or "").strip()
    return BoardInfo(
        model=model,
        soc=soc,
        cpu_model=cpu_model,
        cpu_cores=cpu_cores,
        ram_total_bytes=total,
        ram_available_bytes=available,
        kernel=kernel or None,
    )
