"""Health, the OpenAPI document and JSON error bodies on a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import __version__
from tests.conftest import StartServer


async def test_health_reports_version_uptime_and_each_plugin(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(f"alpha:\n  folder: {tmp_path}\n", plugins=("alpha",))
    health = await server.get_json("/api/health")
    assert health["version"] == __version__
    assert health["status"] == "ok"
    assert isinstance(health["uptime_seconds"], float)
    assert health["server_id"] == server.hub.server_id and len(server.hub.server_id) == 32
    assert health["plugins"] == [
        {
            "domain": "alpha",
            "name": "Alpha test source",
            "kind": "source",
            "state": "running",
            "error": None,
            "origin": "custom",
            "network": "none",
            "detail": {"saw_port": server.hub.port},
        }
    ]


async def test_openapi_lists_core_and_plugin_routes(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(f"alpha:\n  folder: {tmp_path}\n", plugins=("alpha",))
    doc = await server.get_json("/api/openapi.json")
    assert doc["openapi"] == "3.0.3"
    paths = doc["paths"]
    assert isinstance(paths, dict)
    assert set(paths) >= {"/api/health", "/api/openapi.json", "/api/alpha/ping", "/api/items/{id}"}
    ping = paths["/api/alpha/ping"]["get"]
    assert ping["summary"] == "Count the files in the alpha folder."
    assert ping["x-hearth-owner"] == "alpha" and ping["x-hearth-access"] == "signed_in"
    assert paths["/api/health"]["get"]["x-hearth-access"] == "anyone"
    assert paths["/api/health"]["get"]["security"] == []


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nothing-here", 404, "not_found"),
        ("DELETE", "/api/health", 405, "method_not_allowed"),
    ],
)
async def test_errors_are_json_bodies(
    start_server: StartServer, method: str, path: str, status: int, code: str
) -> None:
    server = await start_server()
    async with server.session.request(method, server.url + path) as response:
        assert response.status == status
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_request_bodies_over_the_limit_are_refused_as_json(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with server.session.post(
        server.url + "/api/health", data=b"x" * (2 * 1024 * 1024)
    ) as response:
        assert response.status in (405, 413)
        assert (await response.json())["error"]["code"]


async def test_access_log_has_one_line_per_request(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    await server.get_json("/api/health")
    lines = [r.getMessage() for r in caplog.records if r.name == "hearth.access"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /api/health 200 ")


@pytest.mark.allow_errors
async def test_a_crashing_handler_answers_500_json_without_a_traceback(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(f"alpha:\n  folder: {tmp_path}\n", plugins=("alpha",))
    async with server.session.get(server.url + "/api/alpha/fail") as response:
        assert response.status == 500
        text = await response.text()
    assert "Traceback" not in text and "alpha handler broke" not in text
    assert '"code": "internal_server_error"' in text
    logged = [r for r in caplog.records if r.name == "hearth.http" and r.exc_info]
    assert len(logged) == 1
