"""The button: how long it was held, and what that asks for.

| press                  | does                                                        |
|------------------------|-------------------------------------------------------------|
| short (under 3 s)      | rescan every library                                        |
| held 3 s (under 10 s)  | eject every USB drive safely (LED: `drive_safe` when done)  |
| held 10 s or more      | power the box off                                           |

While it is held the LED says what letting go would do: dark from 3 s (eject), a fast blink
from 10 s (power off).

The gesture is decided when the button is let go, so holding on the way to a shutdown never
ejects first, and a bounce or a brush is only a rescan. The time comes from `clock` (read on
gpiozero's thread the moment the pin changes), so tests drive the pin and set the clock instead
of waiting. One action runs at a time; what happened is kept for /api/health. This module never
touches a pin (hardware.gpio does) and never calls the system directly (system.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from core.plugin_api import DriveEjected, PluginContext
from plugins.gpio.light import StatusLight
from plugins.gpio.system import SystemActions

EJECT_AFTER = 3.0
SHUTDOWN_AFTER = 10.0


def gesture_for(
    held_seconds: float, eject_after: float = EJECT_AFTER, shutdown_after: float = SHUTDOWN_AFTER
) -> str:
    """ "rescan", "eject" or "shutdown" for a press held this long."""
    if held_seconds >= shutdown_after:
        return "shutdown"
    return "eject" if held_seconds >= eject_after else "rescan"


class ButtonGestures:
    """Press and release times (from any thread) turned into gestures on the loop; while the
    button is held, `on_hold` says which gesture letting go now would make ("eject",
    "shutdown", None once released) so the LED can tell the person holding it."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_gesture: Callable[[str], None],
        on_hold: Callable[[str | None], None] = lambda gesture: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loop, self._on_gesture, self._on_hold = loop, on_gesture, on_hold
        self.clock = clock
        self.eject_after, self.shutdown_after = EJECT_AFTER, SHUTDOWN_AFTER
        self._down: float | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def pressed(self) -> None:
        """gpiozero's `when_pressed` (its thread, or the caller's with the mock factory)."""
        self._hand_over(self._pressed, self.clock())

    def released(self) -> None:
        self._hand_over(self._released, self.clock())

    def _hand_over(self, handler: Callable[[float], None], at: float) -> None:
        # RuntimeError: the loop closed while the pin changed; the server is gone
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(handler, at)

    def _pressed(self, at: float) -> None:
        self._down = at
        self.close()
        # the loop's own clock: these only light the LED, the gesture is decided by `clock`
        self._timers = [
            self._loop.call_later(self.eject_after, self._on_hold, "eject"),
            self._loop.call_later(self.shutdown_after, self._on_hold, "shutdown"),
        ]

    def _released(self, at: float) -> None:
        self.close()
        self._on_hold(None)
        if self._down is None:  # pressed before we listened
            return
        held, self._down = at - self._down, None
        self._on_gesture(gesture_for(held, self.eject_after, self.shutdown_after))

    def close(self) -> None:
        """Cancel the hold timers (a release, or teardown)."""
        for timer in self._timers:
            timer.cancel()
        self._timers = []


class ButtonActions:
    """Runs what a gesture asks, one at a time, and shows failures on the LED."""

    def __init__(self, ctx: PluginContext, light: StatusLight, system: SystemActions) -> None:
        self._ctx, self._light = ctx, light
        self.system = system
        self.last: str | None = None  # what the last press did, for /api/health
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        self.on_change: Callable[[], None] = lambda: None

    def on_gesture(self, gesture: str) -> None:
        self._light.clear_drive_safe()  # a press acknowledges "safe to remove"
        task = self._ctx.create_task(self.run(gesture), f"button-{gesture}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settled(self) -> None:
        """Until every press so far has been acted on."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def run(self, gesture: str) -> None:
        async with self._lock:
            if gesture == "rescan":
                queued = self._ctx.scan_all()
                self._done(gesture, None, f"libraries queued for a rescan: {len(queued)}")
            elif gesture == "eject":
                await self._eject()
            else:
                self._ctx.logger.warning("Button held %.0f s: powering the box off", SHUTDOWN_AFTER)
                problem = await self.system.power_off()
                self._done("shutdown", problem, "power-off asked")

    async def _eject(self) -> None:
        outcome = await self.system.eject_drives()
        for device, name in outcome.ejected:
            self._ctx.publish(DriveEjected(device, name))
        for note in outcome.notes:
            self._ctx.logger.info("%s", note)
        names = ", ".join(name for _, name in outcome.ejected)
        text = f"safe to remove: {names}" if names else "no USB drive to eject"
        self._done("eject", "; ".join(outcome.failures) or None, text)

    def _done(self, gesture: str, problem: str | None, text: str) -> None:
        if problem is None:
            self.last = f"{gesture}: {text}"
            self._ctx.logger.info("Button: %s", text)
        else:
            self.last = f"{gesture} failed: {problem}"
            self._ctx.logger.warning("Button: %s failed: %s", gesture, problem)
        if problem is not None:
            self._light.set_error(gesture, problem)
        else:  # a success clears the button's earlier failure
            self._light.set_error("eject", None)
            self._light.set_error("shutdown", None)
        self.on_change()
