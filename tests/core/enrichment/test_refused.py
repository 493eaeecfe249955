"""A provider configured without its hosts under `hearth: egress:`: the gate refuses, nothing
is sent, the refusal is in the ledger and the log, and health says what to add."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.core.media.mediagen import make_video

ADVICE = "add to configuration.yaml: hearth: egress: {tmdb: [api.themoviedb.org, image.tmdb.org]}"


async def test_without_egress_hosts_the_gate_refuses_and_health_says_what_to_add(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "Movies/Heat (1995)").mkdir(parents=True)
    make_video(tmp_path / "Movies/Heat (1995)/Heat (1995).mkv", 0.5)
    caplog.set_level(logging.WARNING)
    server = await start_server(f"""\
folders:
  libraries: [{{name: Movies, kind: movies, paths: [{tmp_path / "Movies"}]}}]
filename:
tmdb:
  api_key: not-a-real-key
""")
    hub = server.hub
    assert hub.enrichment is not None
    await hub.bus.drain()
    await hub.scans.wait_idle()
    await hub.enrichment.idle()

    report = await server.get_json("/api/privacy")
    entries = report["ledger"]["entries"]  # type: ignore[index]
    assert [(e["plugin"], e["host"], e["purpose"], e["allowed"], e["detail"]) for e in entries] == [
        (
            "tmdb",
            "api.themoviedb.org",
            "search for a movie by title",
            False,
            "refused: api.themoviedb.org is not enabled by the owner (hearth: egress: tmdb)",
        ),
    ]
    assert not hub.egress.session_opened  # not a socket was opened
    health = await server.get_json("/api/health")
    (tmdb,) = [p for p in health["plugins"] if p["domain"] == "tmdb"]  # type: ignore[attr-defined]
    assert tmdb["detail"] == {"egress": ADVICE}
    assert f"TMDB cannot be reached: {ADVICE}" in caplog.text
    assert "Refused api.themoviedb.org for the tmdb plugin" in caplog.text
    status = hub.enrichment.status()["tmdb"]
    assert status["state"] == "backing off" and status["failed"] == 1
