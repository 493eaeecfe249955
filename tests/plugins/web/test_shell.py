"""The web plugin's static routes: types, caching, compression, conditional requests, no way out
of the shell, and a service worker and manifest that describe only the shell."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import pytest

from core.configuration import load_configuration
from core.errors import ConfigError
from tests.conftest import RunningServer, StartServer, core_yaml, write_config


@pytest.fixture
async def shell(start_server: StartServer) -> RunningServer:
    return await start_server("web:\n")


async def fetch(
    server: RunningServer, path: str, **headers: str
) -> tuple[int, Mapping[str, str], bytes]:
    """A request without the test's bearer token, as a browser that never signed in."""
    async with (
        aiohttp.ClientSession(auto_decompress=False) as anonymous,
        anonymous.get(
            server.url + path, headers={"Accept-Encoding": "identity", **headers}
        ) as reply,
    ):
        return reply.status, reply.headers.copy(), await reply.read()


async def build_of(server: RunningServer) -> str:
    _, _, body = await fetch(server, "/")
    found = re.search(rb'data-build="([0-9a-f]{12})"', body)
    assert found, body[:300]
    return found.group(1).decode()


async def test_index_is_public_never_cached_and_locked_to_its_own_origin(
    shell: RunningServer,
) -> None:
    status, headers, body = await fetch(shell, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b"%BUILD%" not in body and b'type="module"' in body


async def test_versioned_assets_are_immutable_and_others_short_lived(shell: RunningServer) -> None:
    build = await build_of(shell)
    cases = {
        f"/app/v-{build}/main.js": ("text/javascript; charset=utf-8", "immutable"),
        f"/app/v-{build}/views/player.js": ("text/javascript; charset=utf-8", "immutable"),
        f"/app/v-{build}/app.css": ("text/css; charset=utf-8", "immutable"),
        f"/app/v-{build}/icons/icon.svg": ("image/svg+xml", "immutable"),
        "/app/icons/icon-192.png": ("image/png", "max-age=300"),
        "/app/main.js": ("text/javascript; charset=utf-8", "max-age=300"),
        "/app/v-000000000000/main.js": ("text/javascript; charset=utf-8", "no-cache"),
        "/manifest.webmanifest": ("application/manifest+json", "max-age=300"),
        "/sw.js": ("text/javascript; charset=utf-8", "no-cache"),
    }
    for path, (content_type, cache) in cases.items():
        status, headers, _ = await fetch(shell, path)
        assert status == 200, path
        assert headers["Content-Type"] == content_type, path
        assert cache in headers["Cache-Control"], (path, headers["Cache-Control"])


async def test_text_is_gzipped_on_request_and_revalidation_answers_304(
    shell: RunningServer,
) -> None:
    build = await build_of(shell)
    path = f"/app/v-{build}/main.js"
    _, plain_headers, plain = await fetch(shell, path)
    status, headers, packed = await fetch(shell, path, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"] and len(packed) < len(plain)
    status, headers, body = await fetch(shell, path, **{"If-None-Match": plain_headers["ETag"]})
    assert status == 304 and body == b"" and headers["ETag"] == plain_headers["ETag"]


ESCAPES = (
    "/app/../pyproject.toml",
    "/app/%2e%2e/__init__.py",
    "/app/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/app/..%2f..%2f__init__.py",
    "/app/..%5c..%5c__init__.py",
    "/app/v-000000000000/..%2fshell.py",
    "/app/a/b/c/d/e/../../../../../../__init__.py",
    "/app/%00main.js",
    "/app/",
    "/app/views",
    "/app/missing.js",
    "/app/shell.py",
    "/app/static/index.html",
    "/static/index.html",
    "/__init__.py",
)


async def test_no_path_leaves_the_shell(shell: RunningServer) -> None:
    for path in ESCAPES:
        status, headers, body = await fetch(shell, path)
        assert status in (400, 404), (path, status)
        assert headers["Content-Type"].startswith("application/json"), path
        assert b"import" not in body and b"root:" not in body, path


async def test_service_worker_precaches_only_this_builds_shell(shell: RunningServer) -> None:
    build = await build_of(shell)
    _, _, body = await fetch(shell, "/sw.js")
    text = body.decode()
    assert f"const BUILD = '{build}';" in text
    listed = json.loads(re.search(r"const SHELL = (\[.*?\]);", text, re.S).group(1))  # type: ignore[union-attr]
    assert listed[0] == "/" and f"/app/v-{build}/main.js" in listed
    assert all(p == "/" or p.startswith(f"/app/v-{build}/") for p in listed)
    for path in listed:
        status, _, _ = await fetch(shell, path)
        assert status == 200, path


async def test_manifest_makes_the_app_installable(shell: RunningServer) -> None:
    _, _, body = await fetch(shell, "/manifest.webmanifest")
    manifest = json.loads(body)
    assert manifest["start_url"].startswith("/") and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        status, headers, _ = await fetch(shell, icon["src"])
        assert status == 200 and headers["Content-Type"] == icon["type"], icon


async def test_shell_files_stay_small(shell: RunningServer) -> None:
    static = Path(__file__).resolve().parents[3] / "plugins/web/static"
    for path in static.rglob("*"):
        if path.is_file():
            limit = 8_000 if path.suffix == ".png" else 32_000
            assert path.stat().st_size < limit, path
    assert shell.hub.records["web"].state == "running"


async def test_web_takes_no_options(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", core_yaml(tmp_path / "data") + "web:\n  port: 80\n")
    with pytest.raises(ConfigError, match="port"):
        load_configuration(config)
