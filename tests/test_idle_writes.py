"""Idle means zero writes: a server restarted over a library where nothing changed (catalog,
rescans, the DLNA plugin's prepared pages, TLS, hardware cache, web app) leaves every file of
its data folder exactly as it was — an SD card is not worn by a box that only sits there."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from core.configuration import load_configuration
from core.hub import Hub
from plugins.dlna.service import DlnaService
from tests.conftest import core_yaml, seed_measurements, write_config
from tests.core.scan.library import library_yaml
from tests.plugins.dlna.dms import PROVIDERS, make_library


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under `folder`: (mtime in ns, sha256)."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


async def run_once(config: Path, idle: float) -> None:
    """Start, let every scan and the DLNA pages settle, sit idle, stop."""
    hub = Hub(load_configuration(config))
    await hub.start()
    try:
        await hub.bus.drain()
        await hub.scans.wait_idle()
        context = hub.records["dlna"].context
        assert context is not None
        service: DlnaService = context.state
        await asyncio.wait_for(service.prerender.wait_ready(), 60)
        if hub.stills is not None:  # pictures for videos without artwork, made after scans
            await hub.stills.wait_until(lambda status: status["state"] == "idle")
        await asyncio.sleep(idle)
    finally:
        await hub.stop()


async def test_a_restart_with_nothing_changed_writes_nothing(
    tmp_path: Path, measured: Path
) -> None:
    make_library(tmp_path / "media")
    data = tmp_path / "data"
    seed_measurements(measured, data)
    config = write_config(
        tmp_path / "config",
        core_yaml(
            data, "dlna: {ssdp: false}\nweb:\n" + library_yaml(tmp_path / "media") + PROVIDERS
        ),
    )
    await run_once(config, 0)
    before = snapshot(data)
    assert "catalog.db" in before and "plugins/dlna/didl.db" in before
    await run_once(config, 1.0)
    after = snapshot(data)
    assert after == before, sorted(
        k for k in after.keys() | before.keys() if after.get(k) != before.get(k)
    )
