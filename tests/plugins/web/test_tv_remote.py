"""Play to TV from the web app, end to end: gmediarender (a real UPnP renderer, the Debian
package, into GStreamer fake sinks) and a Hearth server share a private network namespace;
headless Chromium, run inside it too (tv_remote_peer.py), signs in at phone size, opens a
movie, picks the TV and works the remote - pause, resume, seek, -30 s, arrow keys, volume,
stop - each step
seen on the page and on gmediarender itself. Saves test-artifacts/web/phone-tv-remote.png.
Needs root, gmediarender and Chromium (scripts/test installs them)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import write_config
from tests.core.media.mediagen import make_video
from tests.plugins.dlna_renderer.lan import add_tv_and_stranger, owner_token, run_with_peer
from tests.plugins.web.browser import ARTIFACTS

HTTP_PORT, RENDERER_PORT = 18501, 49495
MISSING = netns.unavailable_reason() or (
    None if shutil.which("gmediarender") else "gmediarender is not installed (scripts/test does)"
)


@pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
def test_the_web_apps_remote_drives_gmediarender(tmp_path: Path, chromium_ready: None) -> None:
    movies = tmp_path / "Movies"
    movies.mkdir()
    make_video(movies / "Alien (1979).mp4", 45.0)
    token = asyncio.run(owner_token(tmp_path / "data"))
    address = netns.LAN_ADDRESS
    config = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: 0.0.0.0, port: {HTTP_PORT}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna:\ndlna_renderer: {search_interval: 30, poll_interval: 1}\nfilename:\nweb:\n"
        f"folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "phone-tv-remote.png"
    shot.unlink(missing_ok=True)
    out = tmp_path / "out"
    out.mkdir()
    with netns.network_namespace() as ns:
        add_tv_and_stranger(ns)
        arguments = [f"http://{address}:{HTTP_PORT}", token, str(RENDERER_PORT), str(shot)]
        outcome = run_with_peer(
            ns, out, config, "remote", arguments, 90, module="tests.plugins.web.tv_remote_peer"
        )
    result = outcome.result
    assert "failed" not in result, (result, outcome.log, (out / "gmediarender.log").read_text())
    assert result["console"] == []
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["play"]["page"]["title"] == "Alien" and steps["play"]["page"]["toggle"] == "Pause"
    assert result["toggle_focused"]  # a TV remote's OK pauses straight away
    assert steps["pause"]["page"]["toggle"] == "Play"
    paused_at, resumed_at = result["resumed_from"]
    assert resumed_at >= paused_at  # resumed, not started again
    assert abs(steps["seek"]["position"] - 30) <= 2  # as gmediarender itself reports it
    assert steps["back 30 s"]["position"] <= 6
    assert 19 <= steps["arrow keys"]["position"] <= 27  # one seek of 2 x 10 s
    assert result["fits"]  # nothing scrolls sideways on a phone
    assert steps["volume"]["volume"] == 40 and steps["volume key"]["volume"] == 35
    assert steps["stop"]["page"]["state"] == "stopped"
    movie = result["movie"]["id"]
    assert any(
        # the TV's URL carries a link made for the person who pressed play (masked here)
        f"GET /dlna/media/{movie}.mp4?link=*** " in line and "GStreamer" in line
        for line in outcome.log.splitlines()
    )
    assert shot.stat().st_size > 10_000
