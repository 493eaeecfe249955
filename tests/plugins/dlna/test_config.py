"""The `dlna:` block: defaults for a home, the three SSDP modes, and exact error lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli import main
from plugins.dlna import CONFIG_SCHEMA
from plugins.dlna.config import DlnaConfig
from tests.conftest import write_config


def test_an_empty_block_means_multicast_on_1900_showing_every_library() -> None:
    assert CONFIG_SCHEMA({}) == DlnaConfig(None, (), "multicast", 1900, 1800, None)


def test_every_option_is_read() -> None:
    config = CONFIG_SCHEMA(
        {
            "friendly_name": "Lounge",
            "interfaces": "eth0",
            "ssdp": "unicast",
            "ssdp_port": "1901",
            "max_age": 600,
            "libraries": ["Movies", "Music"],
        }
    )
    assert config == DlnaConfig("Lounge", ("eth0",), "unicast", 1901, 600, ("Movies", "Music"))
    assert CONFIG_SCHEMA({"ssdp": "off"}).ssdp == "off"
    assert CONFIG_SCHEMA({"ssdp": False}).ssdp == "off"
    assert CONFIG_SCHEMA({"max_rating": "PG"}).max_rating == "PG"


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("  ssdp: sometimes\n", "dlna -> ssdp: expected true, false or unicast, got 'sometimes'"),
        ("  max_age: 5\n", "dlna -> max_age: expected an integer from 60 to 86400, got 5"),
        ("  ssdp_port: 0\n", "dlna -> ssdp_port: expected an integer from 1 to 65535, got 0"),
        (
            "  max_rating: PG-15\n",
            "dlna -> max_rating: expected a rating (G, PG, PG-13, R, NC-17, TV-Y, TV-Y7, TV-G, "
            "TV-PG, TV-14, TV-MA) or an age, got 'PG-15'",
        ),
    ],
)
def test_mistakes_are_reported_on_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, expected: str
) -> None:
    folder = write_config(tmp_path, f"hearth:\n  name: Home\ndlna:\n{block}")
    assert main(["check-config", "-c", str(folder)]) != 0
    assert capsys.readouterr().err.splitlines() == [f"configuration.yaml:4: {expected}"]
