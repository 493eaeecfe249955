"""Only library files leave the box, even when a library file's content names other files.

An HLS playlist is text that lists the files to play, and ffmpeg reads whatever it lists.
Renamed `Good Film (2019).mkv`, or `So What.mp3`, and written over the real file after the scan
(someone with write access to the media share), it made every route that hands the file to
ffmpeg stream a film or a song from outside every library folder: the progressive and HLS
transcodes, a TV's transcode, a phone-sized download copy and Subsonic's re-encoded audio. Each
now reads a library file only with a media demuxer (`-format_whitelist`), so each refuses.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import av
import pytest

from core.events import LibraryChanged
from core.playback.ffmpeg_args import MEDIA_DEMUXERS
from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_audio, make_video
from tests.core.scan.test_scanner import settle
from tests.plugins.subsonic.test_auth import device_key

OUTSIDE_SIZE = (320, 240)  # the outside film's picture: the library's are 64x48
OUTSIDE_RATE = 22050  # the outside song's sample rate: the library's is 44100 (mediagen)


def playlist(target: Path) -> str:
    return (
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:2.0,\n{target}\n#EXT-X-ENDLIST\n"
    )


def outside_streams(body: bytes) -> list[str]:
    """The streams in `body` that only the outside files have ([] when nothing decodes)."""
    try:
        with av.open(io.BytesIO(body)) as box:
            contexts: list[Any] = [s.codec_context for s in box.streams]
    except av.error.FFmpegError:
        return []
    videos = [f"video {c.width}x{c.height}" for c in contexts if c.type == "video"]
    audios = [f"audio {c.sample_rate} Hz" for c in contexts if c.type == "audio"]
    width, height = OUTSIDE_SIZE
    return [
        s for s in videos + audios if s in (f"video {width}x{height}", f"audio {OUTSIDE_RATE} Hz")
    ]


async def fetch(server: RunningServer, path: str, **params: str) -> tuple[int, bytes]:
    async with server.session.get(server.url + path, params=params) as reply:
        return reply.status, await reply.read()


async def hls_segment(server: RunningServer, item: str) -> bytes:
    """The first segment of the item's HLS stream ('' when the playlist is refused)."""
    status, master = await fetch(server, f"/api/items/{item}/hls/master.m3u8")
    if status != 200:
        return b""
    variant = next(line for line in master.decode().splitlines() if line and line[0] != "#")
    base = f"/api/items/{item}/hls/"
    status, index = await fetch(server, base + variant)
    if status != 200:
        return b""
    name = next(ln for ln in index.decode().splitlines() if ln and ln[0] != "#")
    segment_path = base + re.sub(r"^.*?/hls/", "", variant).rsplit("/", 1)[0] + "/" + name
    status, segment = await fetch(server, segment_path)
    return segment if status == 200 else b""


async def download_copy(server: RunningServer, item: str) -> bytes:
    """A phone-sized copy of the item, once made ('' when it fails)."""
    async with server.session.post(
        server.url + "/api/downloads", json={"item": item, "quality": "480p"}
    ) as reply:
        assert reply.status == 200, await reply.text()
        download = (await reply.json())["downloads"][0]["id"]
    for _ in range(600):  # the copy is made in the background; its state says when it is done
        state: Any = await server.get_json(f"/api/downloads/{download}")
        if state["state"] in ("ready", "failed"):
            break
        await asyncio.sleep(0.1)
    if state["state"] != "ready":
        return b""
    return (await fetch(server, f"/api/downloads/{download}/file"))[1]


async def subsonic_mp3(server: RunningServer, key: str, song: str) -> bytes:
    """The song re-encoded for a music app (format=mp3 at 96 kbit/s)."""
    params = {"apiKey": key, "id": song, "format": "mp3", "maxBitRate": "96"}
    return (await fetch(server, "/rest/stream", **params))[1]


def test_every_library_extensions_container_is_readable_and_no_playlist_is() -> None:
    allowed = set(MEDIA_DEMUXERS.split(","))
    assert not allowed & {"hls", "dash", "concat", "imf", "image2"}
    assert {"matroska", "mov", "avi", "mpegts", "mp3", "flac", "ogg", "asf", "wav"} <= allowed


@pytest.mark.allow_errors  # ffmpeg refusing the playlist is logged as a failed transcode
async def test_a_library_file_swapped_for_a_playlist_streams_nothing_from_outside(
    start_server: StartServer, tmp_path: Path
) -> None:
    outside, movies, music = tmp_path / "outside", tmp_path / "Movies", tmp_path / "Music"
    for folder in (outside, movies, music / "Miles"):
        folder.mkdir(parents=True)
    make_video(outside / "secret.mkv", 2.0, size=OUTSIDE_SIZE)
    make_audio(outside / "secret.mp3", 2.0, sample_rate=OUTSIDE_RATE)
    film, song = movies / "Good Film (2019).mkv", music / "Miles" / "01 - So What.mp3"
    make_video(film, 1.0)
    make_audio(song, 1.0)
    server = await start_server(
        "dlna: {ssdp: false}\nsubsonic:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
        f"    - {{name: Music, kind: music, paths: ['{music}']}}\n"
        "filename:\nembedded:\n"
    )
    await settle(server)
    await server.hub.catalog.write(lambda db: db.execute("UPDATE libraries SET lan_visible = 1"))
    server.hub.bus.publish(LibraryChanged(1))
    await server.hub.bus.drain()
    films: Any = (await server.get_json("/api/items?kind=movie"))["items"]
    item = films[0]["id"]
    _, key = await device_key(server)
    found: Any = await server.get_json(f"/rest/search3?f=json&query=so&apiKey={key}")
    song_id = found["subsonic-response"]["searchResult3"]["song"][0]["id"]

    film.write_text(playlist(outside / "secret.mkv"))  # no rescan: the catalog still says mkv
    song.write_text(playlist(outside / "secret.mp3"))
    answers = {
        "transcode.ts": (await fetch(server, f"/api/items/{item}/transcode.ts"))[1],
        "hls": await hls_segment(server, item),
        "dlna": (await fetch(server, f"/dlna/transcode/{item}.ts"))[1],
        "download copy": await download_copy(server, item),
        "subsonic": await subsonic_mp3(server, key, song_id),
    }
    leaks = {route: outside_streams(body) for route, body in answers.items()}
    assert leaks == {route: [] for route in answers}, leaks
