"""Play to TV with a real renderer: gmediarender (libupnp and GStreamer, the Debian package) on
a second host of a private network namespace, found by SSDP and driven through the API - play
a direct H.264/AAC MP4 (it advertises video/quicktime), pause, resume with `{}`, seek (its
reported position lands within 2 s), stop. libupnp closes the connection after every answer
without saying so, which is what broke the egress client's keep-alive. Needs root and
gmediarender (scripts/test installs it)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import write_config
from tests.core.media.mediagen import make_video
from tests.plugins.dlna_renderer.lan import (
    Outcome,
    add_tv_and_stranger,
    owner_token,
    run_with_peer,
)

HTTP_PORT, RENDERER_PORT = 18481, 49494
MISSING = netns.unavailable_reason() or (
    None if shutil.which("gmediarender") else "gmediarender is not installed (scripts/test does)"
)


def play_on_gmediarender(
    tmp_path: Path, movies: Path, http_port: int, renderer_port: int, seconds: float = 60
) -> Outcome:
    """Hearth (Play to TV on, the `movies` folder as its library) and gmediarender in one
    namespace, the peer script driving play, pause, resume, seek and stop; fails on a step that
    failed, with both logs."""
    token = asyncio.run(owner_token(tmp_path / "data"))
    config = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        # every address of the namespace: the TV's end is one of ours too, and is what the
        # renderer is handed (a TV on this very box fetches from its own address)
        f"  http: {{host: 0.0.0.0, port: {http_port}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna: {ssdp: false}\ndlna_renderer: {search_interval: 30, poll_interval: 1}\n"
        f"filename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n",
    )
    out = tmp_path / "out"
    out.mkdir()
    with netns.network_namespace() as ns:
        add_tv_and_stranger(ns)
        arguments = [f"http://{netns.LAN_ADDRESS}:{http_port}", token, str(renderer_port)]
        outcome = run_with_peer(ns, out, config, "gmediarender", arguments, seconds=seconds)
    log = (out / "gmediarender.log").read_text()
    assert "failed" not in outcome.result, (outcome.result, outcome.log, log)
    return outcome


@pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
def test_gmediarender_is_found_and_plays_pauses_resumes_seeks_and_stops(tmp_path: Path) -> None:
    movies = tmp_path / "Movies"
    movies.mkdir()
    make_video(movies / "Alien (1979).mp4", 45.0)
    outcome = play_on_gmediarender(tmp_path, movies, HTTP_PORT, RENDERER_PORT)
    result = outcome.result
    movie = result["movie"]
    played, paused, resumed, seeked, stopped = (s["reached"] for s in result["steps"])
    assert played["item_id"] == movie["id"] and played["duration"] == 45.0  # not the TV's guess
    # the owner pressed Play: the TV fetches through a link made on the owner's session
    assert f"/dlna/media/{movie['id']}.mp4?link=hl_" in played["device"]["TrackURI"]
    assert paused["state"] == "paused" and resumed["state"] == "playing"
    assert resumed["position"] >= paused["position"]  # resumed, not started again
    assert abs(seeked["position"] - 30) <= 2 and seeked["duration"] == 45.0
    assert stopped["state"] == "stopped" and stopped["position"] is None
    fetched = f"GET /dlna/media/{movie['id']}.mp4?link=*** "  # never the token
    assert any(fetched in line and "GStreamer" in line for line in outcome.log.splitlines())
    assert "/dlna/transcode/" not in outcome.log
