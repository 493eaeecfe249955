"""Where the plugin can and cannot run: a box without GPIO, the owner's own pin factory, a pin
already taken, and configuration mistakes reported on their line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.cli import main
from hardware.board import read_board_blocking
from hardware.gpio import NO_GPIO, StatusLed, gpio_unavailable_blocking
from plugins.gpio import CONFIG_SCHEMA
from plugins.gpio.config import GpioConfig, PinSetting
from tests.conftest import StartServer, write_config
from tests.plugins.gpio.pins import gpio_health


def pi_tree(root: Path) -> Path:
    """The device tree of a Raspberry Pi 4, as /proc shows it."""
    tree = root / "proc" / "device-tree"
    tree.mkdir(parents=True)
    (tree / "model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    (tree / "compatible").write_bytes(b"raspberrypi,4-model-b\x00brcm,bcm2711\x00")
    return root


def test_gpio_is_there_on_a_pi_and_not_on_a_pc(tmp_path: Path) -> None:
    (tmp_path / "pc").mkdir()
    assert gpio_unavailable_blocking(tmp_path / "pc", environ={}) == NO_GPIO
    assert gpio_unavailable_blocking(pi_tree(tmp_path / "pi"), environ={}) is None


def test_the_owners_pin_factory_is_honoured_before_any_board_check(tmp_path: Path) -> None:
    (tmp_path / "pc").mkdir()
    assert gpio_unavailable_blocking(tmp_path / "pc", {"GPIOZERO_PIN_FACTORY": "mock"}) is None


async def test_without_gpio_health_says_so_and_nothing_fails(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if read_board_blocking().is_raspberry_pi:
        pytest.skip("this machine is a Raspberry Pi: it has GPIO")
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    server = await start_server("gpio:\n  status_led: 17\n  button: 27\n")
    gpio = await gpio_health(server)
    assert gpio["state"] == "running"
    assert gpio["detail"] == {"gpio": "no GPIO on this board"}
    assert server.hub.records["gpio"].context.state is None  # type: ignore[union-attr]


@pytest.mark.allow_errors
async def test_a_pin_in_use_fails_setup_with_a_clear_reason(
    start_server: StartServer, mock_pins: Any
) -> None:
    taken = StatusLed(17)
    try:
        server = await start_server("gpio:\n  status_led: 17\n")
        gpio = await gpio_health(server)
        assert gpio["state"] == "failed"
        assert gpio["error"] == "GPIO 17 is already in use (by another device or program)"
    finally:
        taken.close()


def test_a_bare_pin_or_a_mapping() -> None:
    assert CONFIG_SCHEMA({"status_led": 17, "button": "27"}) == GpioConfig(
        PinSetting(17), PinSetting(27)
    )
    assert CONFIG_SCHEMA(
        {"status_led": {"pin": 17, "active_high": False}, "button": {"pin": 27, "pull_up": False}}
    ) == GpioConfig(PinSetting(17, False), PinSetting(27, False))
    assert CONFIG_SCHEMA(None) == GpioConfig(None, None)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "  status_led: 40\n",
            "configuration.yaml:4: gpio -> status_led: "
            "expected a BCM pin number from 0 to 27, got 40",
        ),
        (
            "  status_led: {pin: 30}\n",
            "configuration.yaml:4: gpio -> status_led -> pin: "
            "expected a BCM pin number from 0 to 27, got 30",
        ),
        (
            "  button: GPIO27\n",
            "configuration.yaml:4: gpio -> button: "
            "expected a BCM pin number from 0 to 27, got 'GPIO27'",
        ),
        (
            "  status_led: {pin: 17, active_hgh: false}\n",
            "configuration.yaml:4: gpio -> status_led: "
            "'active_hgh' is not an option here; did you mean 'active_high'?",
        ),
        (
            "  status_led: 17\n  button: 17\n",
            "configuration.yaml:5: gpio -> button: expected a pin other than status_led's, got 17",
        ),
        (
            "  buton: 27\n",
            "configuration.yaml:4: gpio: 'buton' is not an option here; did you mean 'button'?",
        ),
    ],
)
def test_mistakes_are_reported_on_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, expected: str
) -> None:
    folder = write_config(tmp_path, f"hearth:\n  name: Home\ngpio:\n{block}")
    assert main(["check-config", "-c", str(folder)]) != 0
    assert capsys.readouterr().err.splitlines() == [expected]
