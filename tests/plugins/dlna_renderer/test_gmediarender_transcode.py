"""Play to TV of a film the TV cannot play as it is, on a renderer that seeks only by bytes:
gmediarender (GStreamer) as in test_gmediarender.py, handed an HEVC/AC3 MKV, which a generic
DLNA TV gets as the MPEG-TS transcode. GStreamer turns a seek into a byte Range from the
transcode's length and rate; the constant-rate transcode starts ffmpeg at the time that byte
stands for, so the position gmediarender itself reports lands within 2 s of the target (before,
the transcode had no length and the seek did nothing). Needs root and gmediarender."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.playback.films import make_film
from tests.plugins.dlna_renderer.peers import clock
from tests.plugins.dlna_renderer.test_gmediarender import MISSING, play_on_gmediarender

HTTP_PORT, RENDERER_PORT = 18482, 49495
TSDEMUX = next(Path("/usr/lib").glob("*/gstreamer-1.0/libgstmpegtsdemux.so"), None)
SKIP = MISSING or (
    None if TSDEMUX else "GStreamer's tsdemux is not installed (gstreamer1.0-plugins-bad)"
)


@pytest.mark.skipif(SKIP is not None, reason=str(SKIP))
def test_gmediarender_seeks_a_transcoded_film_by_bytes(tmp_path: Path) -> None:
    movies = tmp_path / "Movies"
    # 10 fps: x265 makes 45 s of it in a few seconds even on a loaded box (25 fps took >120 s)
    make_film(
        movies / "Alien (1979).mkv", 45.0, video="libx265", audio="ac3", size=(320, 180), fps=10
    )
    outcome = play_on_gmediarender(tmp_path, movies, HTTP_PORT, RENDERER_PORT, seconds=90)
    result = outcome.result
    movie = result["movie"]
    played, paused, resumed, seeked, stopped = (s["reached"] for s in result["steps"])
    assert f"/dlna/transcode/{movie['id']}.ts?link=hl_" in played["device"]["TrackURI"]
    assert resumed["position"] >= paused["position"]
    assert abs(seeked["position"] - 30) <= 2  # the API's word, from the TV's RelTime...
    assert abs(clock(seeked["device"]["RelTime"]) - 30) <= 2  # ...and gmediarender's own
    assert seeked["duration"] == pytest.approx(45.0, abs=0.1)  # the catalog's, not the TV's
    assert stopped["state"] == "stopped"
    ranges = [line for line in outcome.log.splitlines() if "/dlna/transcode/" in line]
    assert any(" 206 " in line and "GStreamer" in line for line in ranges), ranges
