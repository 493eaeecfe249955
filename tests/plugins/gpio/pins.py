"""Shared pieces of the gpio tests: gpiozero's mock pins, a clock the test sets, a double of
the system (udisks2, logind), and a server with the plugin running on the mock pins."""

from __future__ import annotations

import asyncio
from typing import Any

from plugins.gpio import GpioRuntime
from plugins.gpio.system import EjectOutcome
from tests.conftest import RunningServer, StartServer

LED_PIN, BUTTON_PIN = 17, 27


class FakeClock:
    """Seconds the test sets; the button reads it when the pin changes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSystem:
    """Stands in for udisks2 and logind: records what it was asked and answers as told."""

    def __init__(self, outcome: EjectOutcome, power_off_problem: str | None = None) -> None:
        self.outcome, self.power_off_problem = outcome, power_off_problem
        self.asked: list[str] = []
        self.answered = asyncio.Event()

    async def eject_drives(self) -> EjectOutcome:
        self.asked.append("eject")
        self.answered.set()
        return self.outcome

    async def power_off(self) -> str | None:
        self.asked.append("power_off")
        self.answered.set()
        return self.power_off_problem


async def press(factory: Any, clock: FakeClock, seconds: float) -> None:
    """Hold the button (pulled up: pressed is low) for `seconds` of the fake clock; returns
    once the release has reached the loop and its action has run."""
    pin = factory.pin(BUTTON_PIN)
    pin.drive_low()
    clock.now += seconds
    pin.drive_high()
    # gpiozero called back on this thread, which handed the times over with
    # call_soon_threadsafe: one turn of the loop delivers them
    await asyncio.sleep(0)


async def start_with_gpio(
    start_server: StartServer, extra: str = ""
) -> tuple[RunningServer, GpioRuntime, FakeClock]:
    server = await start_server(f"gpio:\n  status_led: {LED_PIN}\n  button: {BUTTON_PIN}\n{extra}")
    runtime = server.hub.records["gpio"].context.state  # type: ignore[union-attr]
    assert isinstance(runtime, GpioRuntime)
    clock = FakeClock()
    runtime.gestures.clock = clock
    await server.hub.bus.drain()
    await runtime.light.wait_for("idle")
    return server, runtime, clock


async def gpio_health(server: RunningServer) -> dict[str, Any]:
    health = await server.get_json("/api/health")
    plugins = {p["domain"]: p for p in health["plugins"]}  # type: ignore[attr-defined]
    return plugins["gpio"]  # type: ignore[no-any-return]
