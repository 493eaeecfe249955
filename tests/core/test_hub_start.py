"""What a start puts first: the server answers before the libraries' rescans begin (on a restart
over 100k files they take a core for seconds), and every plugin is set up by then."""

from __future__ import annotations

from pathlib import Path

from core.configuration import load_configuration
from core.events import Event, HubStarted, ScanStarted
from core.hub import Hub
from tests.conftest import core_yaml, seed_measurements, write_config
from tests.core.scan.library import video


async def test_rescans_of_libraries_begin_once_the_server_answers(
    tmp_path: Path, measured: Path
) -> None:
    movies = tmp_path / "Movies"
    video(movies, "Heat (1995)/Heat (1995).mkv")
    library = f"folders:\n  libraries:\n    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    config = write_config(tmp_path / "config", core_yaml(tmp_path / "data", library + "nfo:\n"))
    seed_measurements(measured, tmp_path / "data")
    hub = Hub(load_configuration(config))
    seen: list[tuple[str, dict[str, str]]] = []

    def record(event: Event) -> None:
        states = {domain: record.state for domain, record in hub.records.items()}
        seen.append((type(event).__name__, states))

    hub.bus.subscribe(HubStarted, record)
    hub.bus.subscribe(ScanStarted, record)
    try:
        await hub.start()
        await hub.bus.drain()
        await hub.scans.wait_idle()
        await hub.bus.drain()
    finally:
        await hub.stop()
    running = {"folders": "running", "nfo": "running"}
    assert seen == [("HubStarted", running), ("ScanStarted", running)]
