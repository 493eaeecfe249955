"""The hub's lifecycle: dependency order, failure isolation, retries and a clean teardown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.events import HubStarted, PluginStateChanged, ProvisionAdded
from tests.conftest import StartServer


@pytest.mark.allow_errors
async def test_plugins_set_up_in_dependency_order_and_failures_stay_contained(
    start_server: StartServer, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.mkv").write_bytes(b"x")
    server = await start_server(
        # beta is listed before alpha, which it depends on; broken and crashy must not stop them
        f"beta:\nbroken:\ncrashy:\ngamma:\nalpha:\n  folder: {media}\n",
        plugins=("alpha", "beta", "broken", "crashy", "gamma"),
    )
    hub = server.hub
    assert list(hub.config.order).index("alpha") < list(hub.config.order).index("beta")
    states = {d: r.state for d, r in hub.records.items()}
    assert states == {
        "alpha": "running",
        "beta": "running",
        "broken": "failed",
        "crashy": "failed",
        "gamma": "failed",
    }
    assert hub.records["gamma"].error == "needs 'broken', which failed"
    assert hub.records["crashy"].error == "RuntimeError: boom"
    assert hub.sources.names() == ["alpha:alpha"]
    assert hub.targets.names() == ["beta-screen"]

    health = await server.get_json("/api/health")
    assert health["status"] == "degraded"
    by_domain = {p["domain"]: p for p in health["plugins"]}  # type: ignore[attr-defined]
    assert by_domain["broken"]["error"] == "the test device is missing"
    assert by_domain["alpha"]["detail"] == {"saw_port": hub.port}
    ping = await server.get_json("/api/alpha/ping")
    assert ping == {"files": 1, "label": "alpha"}


async def test_teardown_runs_in_reverse_order_and_releases_everything(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(f"alpha:\n  folder: {tmp_path}\nbeta:\n", plugins=("alpha", "beta"))
    hub = server.hub
    stopped: list[str] = []
    hub.bus.subscribe(
        PluginStateChanged, lambda e: stopped.append(e.domain) if e.state == "stopped" else None
    )
    assert hub.bus.subscriber_count(HubStarted) == 1
    await hub.stop()
    assert stopped == ["beta", "alpha"]
    assert hub.sources.names() == [] and hub.targets.names() == []
    assert hub.bus.subscriber_count(HubStarted) == 0


async def test_a_stopped_plugins_routes_answer_503_not_a_crash(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(f"alpha:\n  folder: {tmp_path}\n", plugins=("alpha",))
    record = server.hub.records["alpha"]
    await server.hub._teardown(record, deadline=asyncio.get_running_loop().time() + 1)
    async with server.session.get(server.url + "/api/alpha/ping") as response:
        assert response.status == 503
        body = await response.json()
    assert body["error"]["code"] == "plugin_unavailable"
    assert "alpha" in body["error"]["message"]


async def test_a_plugin_that_is_not_ready_is_retried_until_it_runs(
    start_server: StartServer, tmp_path: Path
) -> None:
    marker = tmp_path / "mounted"
    server = await start_server(f"flaky:\n  marker: {marker}\n", plugins=("flaky",))
    record = server.hub.records["flaky"]
    assert record.state == "retrying"
    assert record.error is not None and "is not mounted" in record.error
    running = asyncio.Event()
    server.hub.bus.subscribe(
        PluginStateChanged, lambda e: running.set() if e.state == "running" else None
    )
    marker.write_text("ok")
    await asyncio.wait_for(running.wait(), 5)
    assert record.state == "running" and record.attempts >= 2


async def test_registrations_are_announced_on_the_bus(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(f"alpha:\n  folder: {tmp_path}\n", plugins=("alpha",))
    seen: list[ProvisionAdded] = []
    server.hub.bus.subscribe(ProvisionAdded, seen.append)
    record = server.hub.records["alpha"]
    await server.hub._teardown(record, deadline=asyncio.get_running_loop().time() + 1)
    await server.hub._setup("alpha")
    await server.hub.bus.drain()
    assert [(e.registry, e.name, e.owner) for e in seen] == [("source", "alpha:alpha", "alpha")]


@pytest.mark.allow_errors
async def test_missing_python_requirement_fails_only_that_plugin(
    start_server: StartServer,
) -> None:
    server = await start_server("needy:\n", plugins=("needy",))
    record = server.hub.records["needy"]
    assert record.state == "failed"
    assert record.error == "missing Python packages: surely-not-installed-pkg>=1"
