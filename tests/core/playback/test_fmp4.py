"""Fragmented-MP4 HLS over a real server: chosen from what the client reports, read by ffmpeg
through the master playlist, and one continuous stream when its init and segments are joined,
across run boundaries (a seek, a long item's next run) too. H.264 is remuxed and transcoded;
HEVC is remuxed with the `hvc1` sample entry Apple's players need.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from core.playback import ffmpeg_args
from core.playback.hls import with_timestamp_map
from tests.conftest import RunningServer, StartServer
from tests.core.playback.films import FFPROBE, make_film
from tests.core.playback.test_hls_continuity import complaints, film_server, hls_client, token_of

SECONDS = 20  # five 4-second segments
FMP4_ONLY = "h264.main,h264.high,hevc.main,aac,file.mp4,hls.fmp4"  # as Firefox reports


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fmp4-films")
    make_film(folder / "Test Card (2020).mkv", SECONDS)
    return folder


@pytest.fixture(scope="module")
def hevc_films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fmp4-hevc")
    make_film(folder / "Colour Bars (2021).mkv", 12, video="libx265")
    return folder


async def fetch(server: RunningServer, url: str) -> bytes:
    async with server.session.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def whole_stream(server: RunningServer, master_url: str, into: Path) -> tuple[str, str]:
    """Fetch the master, media list, init and every segment; write init + segments to `into`.
    Returns the master and media playlists' text."""
    master = (await fetch(server, master_url)).decode()
    variant = next(line for line in master.splitlines() if line and not line.startswith("#"))
    base = master_url.rsplit("/", 1)[0]
    media = (await fetch(server, f"{base}/{variant}")).decode()
    folder = f"{base}/{variant.rsplit('/', 1)[0]}"
    parts = [await fetch(server, f"{folder}/init.mp4")] if "#EXT-X-MAP" in media else []
    for line in media.splitlines():
        if line and not line.startswith("#"):
            parts.append(await fetch(server, f"{folder}/{line}"))
    into.write_bytes(b"".join(parts))
    return master, media


def video_times(path: Path) -> list[float]:
    """Every video packet's presentation time, in decode order, as ffprobe reads the file."""
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-of", "json", str(path)],
        capture_output=True, check=True, text=True, timeout=60,
    )  # fmt: skip
    return [float(p["pts_time"]) for p in json.loads(done.stdout)["packets"]]


def assert_continuous(times: list[float], fps: int = 25) -> None:
    """Sorted presentation times step one frame at a time: no gap, no overlap, no jump."""
    steps = {round(b - a, 3) for a, b in zip(sorted(times), sorted(times)[1:], strict=False)}
    assert steps == {round(1 / fps, 3)}, steps


@pytest.mark.parametrize("query", ["", "&quality=144p"], ids=["remux", "transcode"])
async def test_fmp4_master_playlist_reads_and_its_segments_join_into_one_stream(
    start_server: StartServer, films: Path, tmp_path: Path, query: str
) -> None:
    server, item = await film_server(start_server, films)
    url = f"{server.url}/api/items/{item}/hls/master.m3u8?caps={FMP4_ONLY}{query}"
    assert complaints(await hls_client(url, token_of(server))) == []
    (session,) = server.hub.playback.manager.sessions
    assert session.plan.segments == "fmp4"
    assert session.plan.video.action == ("encode" if query else "copy")
    master, media = await whole_stream(server, url, tmp_path / "joined.mp4")
    assert "#EXT-X-VERSION:7" in master and 'CODECS="avc1.' in master
    assert '#EXT-X-MAP:URI="init.mp4"' in media and "#EXT-X-VERSION:7" in media
    assert "0.m4s" in media and ".ts" not in media
    times = video_times(tmp_path / "joined.mp4")
    assert SECONDS * 25 <= len(times) <= SECONDS * 25 + 1  # an encoder may repeat the last frame
    assert_continuous(times)


@pytest.mark.parametrize("caps", [FMP4_ONLY, "h264.high,aac,hls.ts"], ids=["fmp4", "mpegts"])
async def test_segments_from_several_runs_join_into_one_stream(
    start_server: StartServer,
    films: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caps: str,
) -> None:
    """Each run makes two segments, so the joined stream crosses two run boundaries (and the
    fMP4 header of the first run serves them all)."""
    monkeypatch.setattr(ffmpeg_args, "MAX_RUN_SEGMENTS", 2)
    server, item = await film_server(start_server, films)
    url = f"{server.url}/api/items/{item}/hls/master.m3u8?caps={caps}"
    await whole_stream(server, url, tmp_path / "joined")
    (session,) = server.hub.playback.manager.sessions
    assert session.run_starts == [0, 2, 4]
    times = video_times(tmp_path / "joined")
    assert len(times) == SECONDS * 25  # no frame twice where one run ends and the next begins
    assert_continuous(times)


async def test_a_seek_in_fmp4_reads_on_without_a_corrupt_packet(
    start_server: StartServer, films: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ffmpeg_args, "MAX_RUN_SEGMENTS", 1)  # so the seek needs a new run
    server, item = await film_server(start_server, films)
    url = f"{server.url}/api/items/{item}/hls/master.m3u8?caps={FMP4_ONLY}"
    assert complaints(await hls_client(url, token_of(server), "-ss", "13")) == []
    runs = server.hub.playback.manager.sessions[0].run_starts
    assert runs[0] == 0 and runs[-2:] == [3, 4] and 2 not in runs


async def test_hevc_is_remuxed_into_fmp4_as_hvc1(
    start_server: StartServer, hevc_films: Path, tmp_path: Path
) -> None:
    """A client that takes MPEG-TS first still gets HEVC in fMP4 (Safari plays it only so)."""
    server, item = await film_server(start_server, hevc_films)
    caps = "h264.high,hevc.main,aac,file.mp4,hls.ts,hls.fmp4"
    url = f"{server.url}/api/items/{item}/hls/master.m3u8?caps={caps}"
    master, _ = await whole_stream(server, url, tmp_path / "joined.mp4")
    (session,) = server.hub.playback.manager.sessions
    assert (session.plan.video.action, session.plan.segments) == ("copy", "fmp4")
    assert 'CODECS="hvc1.1.6.L120.B0,mp4a.40.2"' in master
    probe = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,codec_tag_string", "-of", "json", str(tmp_path / "joined.mp4")],
        capture_output=True, check=True, text=True, timeout=60,
    )  # fmt: skip
    (stream,) = json.loads(probe.stdout)["streams"]
    assert (stream["codec_name"], stream["codec_tag_string"]) == ("hevc", "hvc1")
    assert_continuous(video_times(tmp_path / "joined.mp4"))


async def test_explicit_capabilities_reach_the_playback_answer(
    start_server: StartServer, hevc_films: Path
) -> None:
    """The answer says what is sent and hands `caps` on to the HLS URL; a caps list with no
    known token is refused rather than read as "plays nothing"."""
    server, item = await film_server(start_server, hevc_films)
    caps = "h264.high,aac,file.mp4,hls.ts"
    async with server.session.get(
        f"{server.url}/api/items/{item}/playback", params={"caps": caps}
    ) as response:
        answer = await response.json()
    assert answer["method"] == "transcode"
    assert (
        answer["url"]
        == f"/api/items/{item}/hls/master.m3u8?caps=h264.high%2Caac%2Cfile.mp4%2Chls.ts"
    )
    assert answer["sent"] == {"video": "h264", "video_profile": "High", "audio": "aac"}
    assert answer["segments"] == "mpegts"
    assert "video HEVC Main is not supported by this browser" in answer["reasons"]
    async with server.session.get(
        f"{server.url}/api/items/{item}/playback", params={"caps": "nothing,known"}
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["error"]["message"] == (
        "Caps names no codec, file type or HLS segment type this server knows."
    )


def test_fmp4_subtitles_map_cue_zero_to_segment_time_zero() -> None:
    """fMP4 segments carry the timeline's own times, not MPEG-TS's 1.4 s muxer delay."""
    assert with_timestamp_map("WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n", 0.0) == (
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:01.000 --> 00:02.000\nHi\n"
    )
