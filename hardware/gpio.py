"""The box's status LED and button, through gpiozero: the only module that touches gpiozero.

gpiozero is optional (the `pi` extra) and untyped, so it is imported here, lazily, and only when
a pin is opened; the rest of Hearth sees `StatusLed`, `PushButton` and `GpioError`. Whether this
box has GPIO at all is answered by `gpio_unavailable_blocking` without importing gpiozero on a PC
(where gpiozero's own search for a pin library ends in warnings and `BadPinFactory`). A pin
factory the owner or a test chose (`GPIOZERO_PIN_FACTORY`, e.g. `mock`) is honoured before any
board check. This module never runs a program and never writes a file; button callbacks arrive on
gpiozero's own thread (or, with the mock factory, on the thread that drives the pin).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from hardware.board import read_board_blocking

_LOGGER = logging.getLogger(__name__)
FACTORY_VARIABLE = "GPIOZERO_PIN_FACTORY"
NO_GPIO = "no GPIO on this board"
NOT_INSTALLED = "gpiozero is not installed (install Hearth with its 'pi' extra)"


class GpioError(Exception):
    """A pin could not be opened: no pin library, a pin in use, a pin this board lacks."""


def gpio_unavailable_blocking(
    root: str | os.PathLike[str] = "/", environ: Mapping[str, str] = os.environ
) -> str | None:
    """Why GPIO cannot be used here, or None when it can (reads the board's device tree)."""
    # gpiozero's BCM numbering and its pin libraries are the Raspberry Pi's own
    if not environ.get(FACTORY_VARIABLE) and not read_board_blocking(root).is_raspberry_pi:
        return NO_GPIO
    try:
        import gpiozero  # noqa: F401
    except ImportError:
        return NOT_INSTALLED
    return None


def _device(build: Callable[[Any], Any], pin: int) -> Any:
    """Build one gpiozero device, turning its errors (and the fallback warnings it prints
    while looking for a pin library) into one GpioError naming the pin."""
    try:
        import gpiozero
    except ImportError as err:
        raise GpioError(NOT_INSTALLED) from err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return build(gpiozero)
        except gpiozero.BadPinFactory as err:
            raise GpioError(
                f"GPIO {pin}: no pin library could be loaded (install python3-lgpio on a Pi)"
            ) from err
        except gpiozero.GPIOPinInUse as err:
            raise GpioError(f"GPIO {pin} is already in use (by another device or program)") from err
        except Exception as err:  # the pin libraries raise their own types (lgpio.error...)
            raise GpioError(f"GPIO {pin}: {err}") from err
        finally:
            for warning in caught:
                _LOGGER.debug("gpiozero: %s", warning.message)


class StatusLed:
    """One LED on a BCM pin: steady on, off, or blinking in gpiozero's background thread."""

    def __init__(self, pin: int, active_high: bool = True) -> None:
        self.pin = pin
        self._led = _device(lambda gz: gz.LED(pin, active_high=active_high), pin)

    @property
    def lit(self) -> bool:
        return bool(self._led.is_lit)

    def steady(self, on: bool) -> None:
        if on:
            self._led.on()
        else:
            self._led.off()

    def blink(self, on_seconds: float, off_seconds: float) -> None:
        """Blink until told otherwise; returns at once (gpiozero's thread does the timing)."""
        self._led.blink(on_time=on_seconds, off_time=off_seconds, background=True)

    def close(self) -> None:
        """Stop blinking and give the pin back (gpiozero leaves it an input: the LED goes dark)."""
        self._led.close()


class PushButton:
    """A button between a BCM pin and ground (or 3.3 V with `pull_up=False`).

    `on_press` and `on_release` are called on gpiozero's thread with no arguments: hand them
    to the event loop with `call_soon_threadsafe`.
    """

    def __init__(
        self,
        pin: int,
        on_press: Callable[[], None],
        on_release: Callable[[], None],
        pull_up: bool = True,
        bounce_seconds: float | None = 0.05,
    ) -> None:
        self.pin = pin

        def build(gz: Any) -> Any:
            button = gz.Button(pin, pull_up=pull_up, bounce_time=bounce_seconds)
            button.when_pressed = on_press
            button.when_released = on_release
            return button

        self._button = _device(build, pin)

    def close(self) -> None:
        self._button.close()
