"""The button on gpiozero's mock pins, with the system (udisks2, logind) as a double: holding
3 s ejects the USB drives and the LED says they are safe to pull out; 10 s powers off; a
failure shows on the LED and in /api/health."""

from __future__ import annotations

from typing import Any

import pytest

from core.events import DriveEjected
from plugins.gpio.button import gesture_for
from plugins.gpio.system import EjectOutcome
from tests.conftest import StartServer
from tests.plugins.gpio.pins import BUTTON_PIN, FakeSystem, gpio_health, press, start_with_gpio


def test_how_long_the_button_is_held_decides_what_it_does() -> None:
    assert [gesture_for(s) for s in (0.0, 2.9, 3.0, 9.9, 10.0, 60.0)] == [
        "rescan",
        "rescan",
        "eject",
        "eject",
        "shutdown",
        "shutdown",
    ]


async def test_a_3_second_hold_ejects_the_drives_and_the_led_says_safe(
    start_server: StartServer, mock_pins: Any
) -> None:
    server, runtime, clock = await start_with_gpio(start_server)
    system = FakeSystem(EjectOutcome((("/dev/sdz", "HOLIDAYS"),), ()))
    runtime.actions.system = system
    ejected: list[DriveEjected] = []
    server.hub.bus.subscribe(DriveEjected, ejected.append)

    await press(mock_pins, clock, 3.5)
    await system.answered.wait()
    await runtime.light.wait_for("drive_safe")
    assert system.asked == ["eject"]
    assert ejected == [DriveEjected("/dev/sdz", "HOLIDAYS")]
    detail = (await gpio_health(server))["detail"]
    assert detail["led"]["pattern"] == "drive_safe"
    assert detail["button"] == {"pin": 27, "last": "eject: safe to remove: HOLIDAYS"}

    # the next press acknowledges it (and, being short, rescans)
    await press(mock_pins, clock, 0.2)
    await runtime.light.wait_for("idle")
    assert system.asked == ["eject"]


async def test_a_10_second_hold_asks_for_power_off(
    start_server: StartServer, mock_pins: Any
) -> None:
    server, runtime, clock = await start_with_gpio(start_server)
    system = FakeSystem(EjectOutcome((), ()))
    runtime.actions.system = system

    await press(mock_pins, clock, 10.0)
    await system.answered.wait()
    await runtime.actions.settled()
    assert system.asked == ["power_off"]
    assert (await gpio_health(server))["detail"]["button"]["last"] == "shutdown: power-off asked"


async def test_a_drive_that_cannot_be_unmounted_shows_an_error(
    start_server: StartServer, mock_pins: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server, runtime, clock = await start_with_gpio(start_server)
    busy = "HOLIDAYS: Error unmounting /dev/sdz1: target is busy"
    runtime.actions.system = FakeSystem(EjectOutcome((), (busy,)))

    await press(mock_pins, clock, 4.0)
    await runtime.light.wait_for("error")
    detail = (await gpio_health(server))["detail"]
    assert detail["led"]["pattern"] == "error"
    assert detail["button"]["last"] == f"eject failed: {busy}"
    assert f"Button: eject failed: {busy}" in caplog.text

    # a refused power-off is an error too; a later success clears both
    runtime.actions.system = FakeSystem(EjectOutcome((), ()), "Access denied")
    await press(mock_pins, clock, 12.0)
    await runtime.actions.settled()
    assert runtime.light.errors == {"eject": busy, "shutdown": "Access denied"}
    await press(mock_pins, clock, 0.1)
    await runtime.light.wait_for("idle")
    assert runtime.light.errors == {}


async def test_while_held_the_led_says_what_letting_go_would_do(
    start_server: StartServer, mock_pins: Any
) -> None:
    _, runtime, clock = await start_with_gpio(start_server)
    system = FakeSystem(EjectOutcome((), ()))
    runtime.actions.system = system
    gestures = runtime.gestures
    gestures.eject_after, gestures.shutdown_after = 0.01, 0.02  # the LED's timers, not 3 s and 10 s
    pin = mock_pins.pin(BUTTON_PIN)

    pin.drive_low()
    await runtime.light.wait_for("hold_eject")
    await runtime.light.wait_for("hold_power")
    clock.now += 0.5
    pin.drive_high()
    await runtime.light.wait_for("idle")
    await runtime.actions.settled()
    assert system.asked == ["power_off"]
    assert list(runtime.light.history)[-3:] == ["hold_eject", "hold_power", "idle"]
