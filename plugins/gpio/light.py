"""The status LED's patterns, and which one the box shows, worked out from core events.

| pattern      | the LED                               | when                                   |
|--------------|---------------------------------------|----------------------------------------|
| `starting`   | slow blink (1 s on, 1 s off)          | from power-on until the server listens |
| `idle`       | steady on                             | running, nothing to do                 |
| `scanning`   | blinking (0.25 s on, 0.25 s off)      | a library scan is queued or running    |
| `streaming`  | on, with a short wink every 2 s       | something is being played              |
| `drive_safe` | a short flash every 2 s (0.1 s on)    | USB drives ejected: safe to pull out   |
| `error`      | rapid flicker (0.05 s on, 0.05 s off) | a plugin failed, or eject/shutdown did |
| `off`        | dark                                  | the server is stopping                 |
| `hold_eject` | dark                                  | button held 3 s: let go to eject       |
| `hold_power` | fast blink (0.1 s on, 0.1 s off)      | button held 10 s: let go to power off  |

When several hold, the first in this order wins: off, hold_power/hold_eject, starting, error,
drive_safe, streaming, scanning, idle. `drive_safe` lasts two minutes (or until the button is
pressed again); an eject or shutdown error until the button's next success, a plugin's until it
runs again. Streaming lingers a few seconds after the last stream ends, so a player's next range
request does not make the LED flicker. This module only decides; the LED itself is
`hardware.gpio.StatusLed`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from core.plugin_api import (
    DriveEjected,
    HubStarted,
    HubStopping,
    PlaybackStarted,
    PlaybackStopped,
    PluginContext,
    PluginStateChanged,
    ScanStarted,
)
from hardware.gpio import StatusLed


@dataclass(frozen=True, slots=True)
class Pattern:
    """How the LED shows one state: steady (`on_seconds` None: `steady` says on or off) or
    blinking with these on and off times."""

    name: str
    on_seconds: float | None
    off_seconds: float = 0.0
    steady: bool = True


PATTERNS = {
    p.name: p
    for p in (
        Pattern("off", None, steady=False),
        Pattern("hold_eject", None, steady=False),
        Pattern("hold_power", 0.1, 0.1),
        Pattern("starting", 1.0, 1.0),
        Pattern("error", 0.05, 0.05),
        Pattern("drive_safe", 0.1, 1.9),
        Pattern("streaming", 1.8, 0.2),
        Pattern("scanning", 0.25, 0.25),
        Pattern("idle", None),
    )
}
DRIVE_SAFE_SECONDS = 120.0
STREAM_LINGER_SECONDS = 3.0


class StatusLight:
    """Follows the box's state through events and keeps the LED showing the pattern for it."""

    def __init__(
        self, ctx: PluginContext, led: StatusLed | None, on_change: Callable[[str], None]
    ) -> None:
        self._ctx, self._led, self._on_change = ctx, led, on_change
        self.stream_linger = STREAM_LINGER_SECONDS
        self.drive_safe_seconds = DRIVE_SAFE_SECONDS
        self.started = self.stopping = self.scanning = False
        self.streams: set[str] = set()
        self.holding: str | None = None  # what letting go of the button would do now
        self.errors: dict[str, str] = {}
        self._lingering: asyncio.TimerHandle | None = None
        self._safe: asyncio.TimerHandle | None = None
        self._watching_scans = False
        self.pattern = ""
        self.history: deque[str] = deque(maxlen=64)  # the latest patterns shown, in order
        self._waiters: list[tuple[str, asyncio.Future[None]]] = []

    def listen(self) -> None:
        """Show `starting` and follow the events that decide the pattern (until teardown)."""
        ctx = self._ctx
        ctx.subscribe(HubStarted, self._hub_started)
        ctx.subscribe(HubStopping, self._hub_stopping)
        ctx.subscribe(ScanStarted, self._scan_started)
        ctx.subscribe(PlaybackStarted, self._playback_started)
        ctx.subscribe(PlaybackStopped, self._playback_stopped)
        ctx.subscribe(DriveEjected, self._drive_ejected)
        ctx.subscribe(PluginStateChanged, self._plugin_state)
        ctx.on_teardown(self.close)
        self.refresh()

    def current(self) -> str:
        if self.stopping:
            return "off"
        if self.holding is not None:
            return "hold_power" if self.holding == "shutdown" else "hold_eject"
        if not self.started:
            return "starting"
        if self.errors:
            return "error"
        if self._safe is not None:
            return "drive_safe"
        if self.streams or self._lingering is not None:
            return "streaming"
        return "scanning" if self.scanning else "idle"

    def refresh(self) -> None:
        pattern = self.current()
        if pattern == self.pattern:
            return
        self.pattern = pattern
        self.history.append(pattern)
        if self._led is not None:
            shape = PATTERNS[pattern]
            if shape.on_seconds is None:
                self._led.steady(shape.steady)
            else:
                self._led.blink(shape.on_seconds, shape.off_seconds)
        self._on_change(pattern)
        for wanted, future in list(self._waiters):
            if wanted == pattern and not future.done():
                future.set_result(None)

    async def wait_for(self, pattern: str) -> None:
        """Until the LED shows `pattern` (tests, and anyone who must see a state reached)."""
        if self.pattern == pattern:
            return
        waiter = (pattern, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter[1]
        finally:
            self._waiters.remove(waiter)

    def set_error(self, source: str, text: str | None) -> None:
        """Show (or clear, with None) an error from `source` ("eject", "shutdown", a plugin)."""
        if text is None:
            self.errors.pop(source, None)
        else:
            self.errors[source] = text
        self.refresh()

    def show_hold(self, gesture: str | None) -> None:
        """The button is held long enough for `gesture` (None: released)."""
        self.holding = gesture
        self.refresh()

    def clear_drive_safe(self) -> None:
        if self._safe is not None:
            self._safe.cancel()
            self._safe = None
            self.refresh()

    def _hub_started(self, event: HubStarted) -> None:
        self.started = True
        self.refresh()

    def _hub_stopping(self, event: HubStopping) -> None:
        self.stopping = True
        self.refresh()

    def _scan_started(self, event: ScanStarted) -> None:
        self.scanning = True
        self.refresh()
        if not self._watching_scans:
            self._watching_scans = True
            self._ctx.create_task(self._until_scans_idle(), "led-scans")

    async def _until_scans_idle(self) -> None:
        # a scan that fails ends without ScanFinished; the queue running dry is the real end
        try:
            await self._ctx.scans_idle()
        finally:
            self._watching_scans = False
        self.scanning = False
        self.refresh()

    def _playback_started(self, event: PlaybackStarted) -> None:
        self.streams.add(event.stream_id)
        if self._lingering is not None:
            self._lingering.cancel()
            self._lingering = None
        self.refresh()

    def _playback_stopped(self, event: PlaybackStopped) -> None:
        if event.stream_id not in self.streams:
            return
        self.streams.discard(event.stream_id)
        if not self.streams and self.stream_linger > 0:
            loop = asyncio.get_running_loop()
            if self._lingering is not None:
                self._lingering.cancel()
            self._lingering = loop.call_later(self.stream_linger, self._linger_over)
        self.refresh()

    def _linger_over(self) -> None:
        self._lingering = None
        self.refresh()

    def _drive_ejected(self, event: DriveEjected) -> None:
        if self._safe is not None:
            self._safe.cancel()
        self._safe = asyncio.get_running_loop().call_later(
            self.drive_safe_seconds, self.clear_drive_safe
        )
        self.refresh()

    def _plugin_state(self, event: PluginStateChanged) -> None:
        if event.domain == self._ctx.domain:
            return
        key = f"plugin {event.domain}"
        if event.state == "failed":
            self.set_error(key, event.error or "failed")
        elif event.state == "running":
            self.set_error(key, None)

    def close(self) -> None:
        """Timers off (the LED itself is closed by its owner)."""
        for handle in (self._lingering, self._safe):
            if handle is not None:
                handle.cancel()
        self._lingering = self._safe = None
