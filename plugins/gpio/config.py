"""The `gpio:` block: a status LED and a button, each on a BCM pin.

```yaml
gpio:
  status_led: 17            # or {pin: 17, active_high: false} for an LED wired to 3.3 V
  button: 27                # or {pin: 27, pull_up: false} for a button wired to 3.3 V
```
Either may be left out. Only reads settings; opening the pins is hardware.gpio's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import voluptuous as vol

from core.plugin_api import validators as cv

PIN = cv.integer(0, 27, "expected a BCM pin number from 0 to 27")


@dataclass(frozen=True, slots=True)
class PinSetting:
    """One device's pin; `high` is the LED's active_high or the button's pull_up."""

    pin: int
    high: bool = True


@dataclass(frozen=True, slots=True)
class GpioConfig:
    status_led: PinSetting | None
    button: PinSetting | None


def _pin_setting(option: str) -> vol.All:
    """A bare pin number, or a mapping with `pin` and the device's one on/off `option`."""
    block = {vol.Required("pin"): PIN, vol.Optional(option, default=True): cv.boolean}
    # vol.Schema around Any: the error formatter finds the keys there for "did you mean"
    return vol.All(
        vol.Schema(vol.Any(PIN, block)),
        lambda v: PinSetting(v["pin"], v[option]) if isinstance(v, dict) else PinSetting(v),
    )


def _distinct(config: GpioConfig) -> GpioConfig:
    led, button = config.status_led, config.button
    if led is not None and button is not None and led.pin == button.pin:
        raise vol.Invalid("expected a pin other than status_led's", path=["button"])
    return config


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        vol.Schema(
            vol.Any(
                None,
                {
                    vol.Optional("status_led"): _pin_setting("active_high"),
                    vol.Optional("button"): _pin_setting("pull_up"),
                },
            )
        ),
        lambda data: GpioConfig((data or {}).get("status_led"), (data or {}).get("button")),
        _distinct,
    )
)
