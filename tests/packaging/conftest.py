"""The packaging tests: slow (a package build, a Debian root), marked so they can be left out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds a package or a Debian root (minutes)")
