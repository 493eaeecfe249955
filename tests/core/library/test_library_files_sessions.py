"""Only library files leave the box, even after a playback session has started.

An HLS session checks its file once, when it starts (core.library.roots: opened, then its real
path checked), and later starts ffmpeg again: to extract subtitles on first request, and for a
seek far ahead. It used to hand ffmpeg that real path by name: if someone who can write to the
media share had since put a link to a file outside every library folder at that path, the new
ffmpeg read the outside film, and its subtitles and segments were served. Now each ffmpeg start
opens the file, checks that the opened file is the one at the checked real path, and hands
ffmpeg the open descriptor (`/dev/fd/N`): a run started after the swap answers 404, one started
before keeps reading the library file it opened.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import av
import pytest

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import SubtitleTrack, make_video
from tests.core.scan.test_scanner import settle

OUTSIDE_SIZE = (320, 240)  # the outside film's picture: the library's is 64x48


async def get(server: RunningServer, path: str) -> tuple[int, bytes]:
    async with server.session.get(server.url + path) as reply:
        return reply.status, await reply.read()


def sizes(body: bytes) -> list[tuple[int, int]]:
    with av.open(io.BytesIO(body)) as box:
        return [(s.codec_context.width, s.codec_context.height) for s in box.streams.video]


@pytest.mark.allow_errors
async def test_a_file_swapped_for_a_link_out_during_a_session_is_not_streamed(
    start_server: StartServer, tmp_path: Path
) -> None:
    outside, movies = tmp_path / "outside", tmp_path / "Movies"
    outside.mkdir()
    movies.mkdir()
    secret = (SubtitleTrack("eng", "OUTSIDE SECRET"),)
    make_video(outside / "secret.mkv", 30.0, size=OUTSIDE_SIZE, subtitles=secret)
    library = (SubtitleTrack("eng", "Hello from the library"),)  # the same streams' layout
    film = make_video(movies / "Good Film (2019).mkv", 30.0, subtitles=library)
    server = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\nfilename:\nembedded:\n"
    )
    await settle(server)
    films: Any = (await server.get_json("/api/items?kind=movie"))["items"]
    base = f"/api/items/{films[0]['id']}/hls/"
    _, master = await get(server, base + "master.m3u8")
    variant = next(ln for ln in master.decode().splitlines() if ln and ln[0] != "#")
    subtitles = re.search(r'URI="([^"]+/subs\d+)\.m3u8"', master.decode())
    assert subtitles is not None, master
    _, index = await get(server, base + variant)
    segments = [ln for ln in index.decode().splitlines() if ln and ln[0] != "#"]
    session = base + variant.rsplit("/", 1)[0] + "/"
    status, first = await get(server, session + segments[0])
    assert status == 200 and sizes(first) == [(64, 48)]

    film.unlink()
    film.symlink_to(outside / "secret.mkv")
    status, vtt = await get(server, base + subtitles.group(1) + ".vtt")  # extracted on first ask
    assert b"OUTSIDE SECRET" not in vtt
    assert (status, b'"file_missing"' in vtt) == (404, True), vtt
    for segment in (segments[-1], segments[len(segments) // 2]):  # seeks: ffmpeg starts again
        status, body = await get(server, session + segment)
        if status == 200:  # made by a run that had the library file open before the swap
            assert sizes(body) == [(64, 48)], segment
        else:
            assert (status, b'"file_missing"' in body) == (404, True), (segment, body)
