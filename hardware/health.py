"""How the box is doing right now: temperatures and the Raspberry Pi firmware's throttle flags.

A Pi that is under-volted or hot silently slows down, and transcoding is what makes it hot, so
these readings belong next to encoder capability. Temperatures come from
/sys/class/thermal/thermal_zone*/ below a `root` (tests use fake trees); throttling from
`vcgencmd get_throttled`, asked only when the command exists. Readings are never cached — they
are live by nature — and this module never changes a clock, fan or governor.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardware.commands import CommandRunner

VCGENCMD_TIMEOUT_S = 5.0
_THROTTLED = re.compile(r"throttled=(0x[0-9a-fA-F]+|\d+)")
_CPU_ZONE_TYPES = ("cpu-thermal", "cpu_thermal", "x86_pkg_temp", "soc_thermal", "cpu")
"""Zone types that measure the CPU/SoC; Pi images spell it both ways (cpu-thermal/cpu_thermal)."""


@dataclass(frozen=True, slots=True)
class ThermalReading:
    """One thermal zone; `zone` is the sysfs directory name, `kind` its `type` file."""

    zone: str
    kind: str | None
    celsius: float


@dataclass(frozen=True, slots=True)
class ThrottleFlags:
    under_voltage: bool
    freq_capped: bool
    throttled: bool
    soft_temp_limit: bool

    def names(self) -> tuple[str, ...]:
        labels = (
            (self.under_voltage, "under-voltage"),
            (self.freq_capped, "frequency capped"),
            (self.throttled, "throttled"),
            (self.soft_temp_limit, "soft temperature limit"),
        )
        return tuple(label for on, label in labels if on)


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """`vcgencmd get_throttled`: bits 0-3 are happening now, bits 16-19 have happened since boot."""

    raw: int
    now: ThrottleFlags
    since_boot: ThrottleFlags


@dataclass(frozen=True, slots=True)
class BoardHealth:
    temperatures: tuple[ThermalReading, ...]
    throttle: ThrottleState | None

    @property
    def cpu_celsius(self) -> float | None:
        """The CPU/SoC zone if one is labelled so, else the first zone (Pis have exactly one)."""
        for kind in _CPU_ZONE_TYPES:
            for reading in self.temperatures:
                if reading.kind == kind:
                    return reading.celsius
        return self.temperatures[0].celsius if self.temperatures else None


def _flags(bits: int) -> ThrottleFlags:
    return ThrottleFlags(
        under_voltage=bool(bits & 0x1),
        freq_capped=bool(bits & 0x2),
        throttled=bool(bits & 0x4),
        soft_temp_limit=bool(bits & 0x8),
    )


def parse_throttled(text: str) -> ThrottleState | None:
    """Parse "throttled=0x50005"; None when the output is not that (an error message, say)."""
    found = _THROTTLED.search(text)
    if not found:
        return None
    raw = int(found.group(1), 0)
    return ThrottleState(raw=raw, now=_flags(raw), since_boot=_flags(raw >> 16))


def parse_millidegrees(text: str) -> float | None:
    """sysfs thermal `temp` files hold integer millidegrees Celsius ("48686" is 48.686 °C)."""
    value = text.strip()
    if not value.lstrip("-").isdigit():
        return None
    return int(value) / 1000


def _zone_number(path: Path) -> int:
    digits = path.name.removeprefix("thermal_zone")
    return int(digits) if digits.isdigit() else -1


def read_temperatures_blocking(root: str | os.PathLike[str] = "/") -> tuple[ThermalReading, ...]:
    """Read every thermal zone under `root` that answers; zones whose sensor is off are skipped."""
    readings = []
    zones = Path(root) / "sys" / "class" / "thermal"
    for zone in sorted(zones.glob("thermal_zone*"), key=_zone_number):
        try:
            # Some drivers (e.g. iwlwifi when the radio is down) fail the read with ENODATA.
            celsius = parse_millidegrees((zone / "temp").read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError):
            continue
        if celsius is None:
            continue
        try:
            kind: str | None = (zone / "type").read_text(encoding="utf-8").strip() or None
        except OSError:
            kind = None
        readings.append(ThermalReading(zone=zone.name, kind=kind, celsius=celsius))
    return tuple(readings)


def read_throttle_blocking(
    runner: CommandRunner,
    which: Callable[[str], str | None] = shutil.which,
) -> ThrottleState | None:
    """Ask the Pi firmware through `vcgencmd`; None where the command is absent or fails."""
    vcgencmd = which("vcgencmd")
    if vcgencmd is None:
        return None
    result = runner([vcgencmd, "get_throttled"], VCGENCMD_TIMEOUT_S)
    return parse_throttled(result.stdout) if result.ok else None


def read_health_blocking(
    root: str | os.PathLike[str],
    runner: CommandRunner,
    which: Callable[[str], str | None] = shutil.which,
) -> BoardHealth:
    return BoardHealth(read_temperatures_blocking(root), read_throttle_blocking(runner, which))
