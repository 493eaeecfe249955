"""A plugin's Python requirements are checked before its code is imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.configuration import load_configuration
from tests.conftest import StartServer, core_yaml, write_config


def test_a_plugin_missing_its_requirements_is_not_imported(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path / "config",
        core_yaml(tmp_path / "data") + "needy_import:\n",
        plugins=("needy_import",),
    )
    config = load_configuration(folder)  # importing it would raise ModuleNotFoundError
    entry = config.plugins["needy_import"]
    assert entry.module is None
    assert not [name for name in sys.modules if name.endswith("needy_import")]


@pytest.mark.allow_errors
async def test_a_plugin_missing_its_requirements_fails_alone_at_setup(
    start_server: StartServer,
) -> None:
    server = await start_server("needy_import:\n", plugins=("needy_import",))
    record = server.hub.records["needy_import"]
    assert record.state == "failed"
    assert record.error == "missing Python packages: surely-not-installed-pkg>=1"
