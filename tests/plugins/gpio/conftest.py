"""gpiozero's mock pins for the gpio plugin's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def mock_pins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """gpiozero's MockFactory, chosen the owner's way (GPIOZERO_PIN_FACTORY), reset after."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = None
