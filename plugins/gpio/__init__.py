"""The box's status LED and button (gpiozero): what Hearth is doing, seen on the box itself,
and a button to rescan, eject USB drives safely, or power off.

LED patterns are in light.py, button presses in button.py, eject and power-off (udisks2 and
logind, through polkit, never as root) in system.py. On a box without GPIO it reports "no GPIO
on this board" in /api/health and does nothing else. No network; never writes a file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from core.plugin_api import PluginContext, PluginSetupError
from hardware.gpio import NO_GPIO, GpioError, PushButton, StatusLed, gpio_unavailable_blocking
from plugins.gpio.button import ButtonActions, ButtonGestures
from plugins.gpio.config import CONFIG_SCHEMA, GpioConfig
from plugins.gpio.light import StatusLight
from plugins.gpio.system import UdisksSystem

__all__ = ["CONFIG_SCHEMA", "GpioRuntime", "setup"]


@dataclass(frozen=True)
class GpioRuntime:
    """What the plugin holds while it runs (tests reach the light, gestures and actions)."""

    light: StatusLight
    gestures: ButtonGestures
    actions: ButtonActions


async def setup(ctx: PluginContext, config: GpioConfig) -> None:
    """Open the pins, follow the box's events on the LED, listen to the button."""
    reason = await ctx.run_blocking(gpio_unavailable_blocking)
    if reason == NO_GPIO:
        ctx.report({"gpio": reason})
        return
    if reason is not None:
        raise PluginSetupError(reason)
    led: StatusLed | None = None
    try:
        if config.status_led is not None:
            led = StatusLed(config.status_led.pin, config.status_led.high)
            ctx.on_teardown(led.close)
        light = StatusLight(ctx, led, lambda pattern: report())
        actions = ButtonActions(ctx, light, UdisksSystem())
        gestures = ButtonGestures(asyncio.get_running_loop(), actions.on_gesture, light.show_hold)
        ctx.on_teardown(gestures.close)
        if config.button is not None:
            button = PushButton(
                config.button.pin, gestures.pressed, gestures.released, config.button.high
            )
            ctx.on_teardown(button.close)
    except GpioError as err:
        raise PluginSetupError(str(err)) from err

    def report() -> None:
        detail: dict[str, object] = {}
        if led is not None:
            detail["led"] = {"pin": led.pin, "pattern": light.pattern}
        if config.button is not None:
            detail["button"] = {"pin": config.button.pin, "last": actions.last}
        ctx.report(detail)

    actions.on_change = report
    ctx.state = GpioRuntime(light, gestures, actions)
    light.listen()
