"""The `dlna_renderer:` block: SSDP on by default, renderers by URL, and exact error lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli import main
from plugins.dlna_renderer import CONFIG_SCHEMA
from plugins.dlna_renderer.config import RendererConfig
from tests.conftest import write_config


def test_defaults_search_the_servers_interfaces_and_poll_every_two_seconds() -> None:
    assert CONFIG_SCHEMA({}) == RendererConfig(True, (), (), 300, 2.0)
    url = "http://192.168.1.20:9197/dmr"
    assert CONFIG_SCHEMA({"discovery": False, "renderers": url}).renderers == (url,)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "  renderers: [ftp://tv/desc.xml]\n",
            "dlna_renderer -> renderers -> 0: expected a device description URL such as "
            "http://192.168.1.20:9197/dmr, got 'ftp://tv/desc.xml'",
        ),
        (
            "  search_interval: 5\n",
            "dlna_renderer -> search_interval: expected an integer from 30 to 3600, got 5",
        ),
    ],
)
def test_mistakes_are_reported_on_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, expected: str
) -> None:
    folder = write_config(tmp_path, f"hearth:\n  name: Home\ndlna:\ndlna_renderer:\n{block}")
    assert main(["check-config", "-c", str(folder)]) != 0
    assert capsys.readouterr().err.splitlines() == [f"configuration.yaml:5: {expected}"]


def test_it_needs_the_dlna_plugin_whose_routes_tvs_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(tmp_path, "hearth:\n  name: Home\ndlna_renderer:\n")
    assert main(["check-config", "-c", str(folder)]) != 0
    assert "dlna_renderer: needs the 'dlna' plugin" in capsys.readouterr().err
