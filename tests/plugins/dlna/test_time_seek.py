"""Seeks that land where asked: a TV's `TimeSeekRange.dlna.org: npt=12.5-` (and the core
route's `?start=12.5`) gets a stream whose first video frame and first audio sample start
together, at the time the answered `npt` header claims.

Four films with a keyframe every 5 seconds, one per way a generic DLNA TV gets them: HEVC is
encoded to H.264 and H.264 copied; AC3 is copied and Opus encoded to AAC. Where the video is
encoded the stream starts at the asked 12.5 s; where it is copied it can only start on a
keyframe, so it starts at 10 s and the header says so. The stream's timestamps start at zero
(plus the MPEG-TS muxer's 1.4 s) at that time, so where it starts in the film is checked by how
much of the film it holds: everything from there to the end.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.conftest import RunningServer, StartServer
from tests.core.playback.films import FFPROBE, first_times, make_film
from tests.core.scan.test_scanner import items, settle

SEEK = "TimeSeekRange.dlna.org"
TV = {"User-Agent": "Linux/4.4 UPnP/1.0 DLNADOC/1.50 Generic TV"}  # the generic DLNA profile
SECONDS = 20.0
KEYFRAMES = 5.0
FILMS = {  # title: (video codec, audio codec, what the TV gets, where a seek to 12.5 starts)
    "Hevc Ac3": ("libx265", "ac3", ("h264", "ac3"), 12.5),
    "Hevc Opus": ("libx265", "libopus", ("h264", "aac"), 12.5),
    "Avc Ac3": ("libx264", "ac3", ("h264", "ac3"), 10.0),
    "Avc Opus": ("libx264", "libopus", ("h264", "aac"), 10.0),
}


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four films, made once for this module."""
    base = tmp_path_factory.mktemp("seek-films")
    for title, (video, audio, _, _) in FILMS.items():
        path = base / f"{title} (2020).mkv"
        make_film(
            path, SECONDS, video=video, audio=audio, keyframe_seconds=KEYFRAMES, size=(192, 108)
        )
    return base


async def film_server(
    start_server: StartServer, films: Path
) -> tuple[RunningServer, dict[str, str]]:
    server = await start_server(
        "dlna: {ssdp: false}\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{films}']}}\n"
    )
    await settle(server)
    return server, {str(film["title"]): str(film["id"]) for film in await items(server)}


def stream_facts(path: Path) -> tuple[set[str], float]:
    """(codecs, seconds from the first packet to the end of the last) of a received stream."""
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(path)],
        capture_output=True, check=True, text=True, timeout=30,
    )  # fmt: skip
    found = json.loads(done.stdout)
    return {s["codec_name"] for s in found["streams"]}, float(found["format"]["duration"])


async def receive(client: ClientSession, url: str, path: Path, **headers: str) -> dict[str, str]:
    async with client.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        path.write_bytes(await response.read())
        return dict(response.headers)


def check_start(path: Path, start: float, codecs: tuple[str, str]) -> None:
    """Both streams begin together, and the stream holds the film from `start` to its end."""
    video, audio = first_times(path)
    received, length = stream_facts(path)
    assert received == set(codecs)
    assert abs(video - audio) <= 0.5, (video, audio)
    assert abs(length - (SECONDS - start)) <= 0.5, (length, start)


async def test_a_time_seek_starts_both_streams_where_the_header_says(
    start_server: StartServer, films: Path, tmp_path: Path
) -> None:
    server, ids = await film_server(start_server, films)
    async with ClientSession() as tv:
        for title, (_, _, codecs, start) in FILMS.items():
            url = f"{server.url}/dlna/transcode/{ids[title]}.ts"
            got = tmp_path / f"{title}.ts"
            headers = await receive(tv, url, got, **TV, **{SEEK: "npt=12.5-"})
            answered = re.fullmatch(r"npt=(\d+\.\d{3})-(20\.0\d\d)/\2", headers[SEEK])
            assert answered is not None, (title, headers[SEEK])
            claimed = float(answered[1])
            assert claimed == pytest.approx(start, abs=0.01), title  # copied: a keyframe
            check_start(got, claimed, codecs)
            whole = tmp_path / f"{title}-whole.ts"
            assert SEEK not in await receive(tv, url, whole, **TV)
            check_start(whole, 0.0, codecs)


async def test_a_start_query_starts_both_streams_together(
    start_server: StartServer, films: Path, tmp_path: Path
) -> None:
    server, ids = await film_server(start_server, films)
    for title, (_, _, codecs, start) in FILMS.items():  # AC3 copied, Opus encoded to AAC
        url = f"{server.url}/api/items/{ids[title]}/transcode.ts?start=12.5&profile=dlna-generic"
        got = tmp_path / f"{title}.ts"
        headers = await receive(server.session, url, got)
        claimed = float(headers["X-Hearth-Start"])
        assert claimed == pytest.approx(start, abs=0.01), title
        check_start(got, claimed, codecs)
