"""A third-party plugin installed as a package is found through the `hearth.plugins` group."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from core.loader import find_plugins
from tests.conftest import StartServer


def install_fake_distribution(site: Path) -> None:
    """What pip leaves behind for a package declaring a Hearth plugin entry point."""
    package = site / "hearth_garden"
    package.mkdir(parents=True)
    (package / "manifest.json").write_text(
        json.dumps({"domain": "garden", "name": "Garden lights", "kind": "hardware"})
    )
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            import voluptuous as vol
            from aiohttp import web
            from core.http.routes import RouteSpec

            CONFIG_SCHEMA = vol.Schema({vol.Optional("lamps", default=1): int})

            async def setup(ctx, config):
                async def lamps(request):
                    \"\"\"How many lamps the garden has.\"\"\"
                    return web.json_response({"lamps": config["lamps"]})
                ctx.add_routes([RouteSpec("GET", "/api/garden", lamps)])
            """
        )
    )
    dist = site / "hearth_garden-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hearth-garden\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hearth.plugins]\ngarden = hearth_garden\n")


async def test_entry_point_plugin_is_found_configured_and_served(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    found = find_plugins(None)
    assert "garden" in found.specs, found.broken
    assert found.specs["garden"].origin == "entry point of hearth-garden"
    server = await start_server("garden:\n  lamps: 3\n")
    assert server.hub.records["garden"].state == "running"
    assert await server.get_json("/api/garden") == {"lamps": 3}
