"""Temperatures from fake thermal zones and the Pi firmware's throttle bits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hardware.commands import CommandResult
from hardware.health import (
    ThermalReading,
    ThrottleFlags,
    parse_throttled,
    read_health_blocking,
    read_temperatures_blocking,
    read_throttle_blocking,
)

CLEAR = ThrottleFlags(False, False, False, False)


def test_throttled_0x50005_is_under_voltage_and_throttled_now_and_since_boot() -> None:
    state = parse_throttled("throttled=0x50005\n")
    assert state is not None
    assert state.raw == 0x50005
    expected = ThrottleFlags(
        under_voltage=True, freq_capped=False, throttled=True, soft_temp_limit=False
    )
    assert state.now == expected
    assert state.since_boot == expected
    assert state.now.names() == ("under-voltage", "throttled")


def test_throttle_history_alone_shows_only_since_boot() -> None:
    state = parse_throttled("throttled=0xa0000")
    assert state is not None
    assert state.now == CLEAR
    assert state.since_boot == ThrottleFlags(False, True, False, True)


def test_throttled_zero_is_all_clear() -> None:
    state = parse_throttled("throttled=0x0\n")
    assert state is not None and state.now == CLEAR and state.since_boot == CLEAR


def test_throttle_output_that_is_not_a_reading_gives_none() -> None:
    assert parse_throttled("VCHI initialization failed\n") is None


def test_temperatures_are_millidegrees_and_the_cpu_zone_is_preferred(
    make_box: Callable[..., Any],
) -> None:
    readings = read_temperatures_blocking(make_box("intel").root)
    assert readings == (
        ThermalReading("thermal_zone0", "acpitz", 27.8),
        ThermalReading("thermal_zone1", "x86_pkg_temp", 45.0),
    )
    health = read_health_blocking(make_box("pi5").root, _never_run, lambda _: None)
    assert health.cpu_celsius == 61.35


def test_a_zone_whose_sensor_cannot_be_read_is_skipped(tmp_path: Path) -> None:
    zones = tmp_path / "sys" / "class" / "thermal"
    (zones / "thermal_zone0").mkdir(parents=True)
    (zones / "thermal_zone0" / "temp").write_text("\n", encoding="ascii")
    (zones / "thermal_zone1").mkdir()
    (zones / "thermal_zone1" / "temp").write_text("41000\n", encoding="ascii")
    (zones / "thermal_zone2").mkdir()  # no temp file at all
    assert read_temperatures_blocking(tmp_path) == (ThermalReading("thermal_zone1", None, 41.0),)


def _never_run(argv: Sequence[str], timeout: float) -> CommandResult:
    raise AssertionError(f"ran {argv}")


def test_throttle_is_not_asked_where_vcgencmd_does_not_exist() -> None:
    assert read_throttle_blocking(_never_run, which=lambda _: None) is None


def test_throttle_is_none_when_vcgencmd_fails() -> None:
    def failing(argv: Sequence[str], timeout: float) -> CommandResult:
        assert argv == ["/usr/bin/vcgencmd", "get_throttled"]
        return CommandResult(255, "", "VCHI initialization failed\n")

    assert read_throttle_blocking(failing, which=lambda _: "/usr/bin/vcgencmd") is None
