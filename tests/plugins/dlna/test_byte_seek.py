"""Seeking the TV transcode by bytes, as GStreamer-based TVs do: the stream has a constant byte
rate, so its length is known up front (res@size, Content-Length, DLNA.ORG_OP=11) and a byte
Range starts ffmpeg at the time that byte stands for.

Two films in MKV, which a generic DLNA TV cannot play as they are: HEVC/AC3, sent as H.264
with the AC3 copied, and H.264/AAC (keyframes every 2 s), sent with both copied. A range from
the middle of the advertised length answers 206 with exactly those bytes, and the first frames
in it (timestamps on the film's own clock, plus the MPEG-TS muxer's 1.4 s) are from the middle
of the film: where the encoded video starts anywhere, the copied one on a keyframe of the
film's clock. A range from 0 is the whole film; HEAD gives the length; a range past the end is
416.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.conftest import RunningServer, StartServer
from tests.core.playback.films import FFPROBE, TS_OFFSET, first_times, make_film
from tests.core.scan.test_scanner import settle
from tests.plugins.dlna.dms import dms

TV = {"User-Agent": "Linux/4.4 UPnP/1.0 DLNADOC/1.50 Generic TV"}  # the generic DLNA profile
SECONDS = 24.0


KEYFRAMES = 2.0
FILMS = {  # title: (video, audio, what a generic TV gets)
    "Big Test": ("libx265", "ac3", {"h264", "ac3"}),
    "Copied Test": ("libx264", "aac", {"h264", "aac"}),
}


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    movies = tmp_path_factory.mktemp("byte-seek") / "Movies"
    for title, (video, audio, _) in FILMS.items():
        make_film(
            movies / f"{title} (2008).mkv",
            SECONDS,
            video=video,
            audio=audio,
            keyframe_seconds=KEYFRAMES,
            size=(192, 108),
        )
    return movies


async def transcode_resource(server: RunningServer, title: str) -> tuple[str, str, int]:
    """(url, protocolInfo, size) of a film's transcode as a TV browses it."""
    device = await dms(server)
    library = (await device.async_browse_direct_children("0")).result[0]
    children = (await device.async_browse_direct_children(library.id)).result
    film = next(o for o in children if o.title == title)  # type: ignore[union-attr]
    transcode = next(r for r in film.res if "/dlna/transcode/" in r.uri)  # type: ignore[union-attr]
    return transcode.uri, transcode.protocol_info, int(transcode.size)


def facts(path: Path) -> tuple[set[str], float]:
    """(codecs, seconds from the first packet to the end of the last) of a received stream."""
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(path)],
        capture_output=True, check=True, text=True, timeout=30,
    )  # fmt: skip
    found = json.loads(done.stdout)
    return {s["codec_name"] for s in found["streams"]}, float(found["format"]["duration"])


@pytest.mark.parametrize("title", list(FILMS))
async def test_a_byte_range_starts_the_transcode_at_the_time_it_stands_for(
    start_server: StartServer, film: Path, tmp_path: Path, title: str
) -> None:
    server = await start_server(
        "dlna: {ssdp: false}\nfilename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{film}']}}\n"
    )
    await settle(server)
    url, protocol, size = await transcode_resource(server, title)
    codecs_sent = FILMS[title][2]
    assert protocol.startswith("http-get:*:video/mpeg:DLNA.ORG_OP=11;DLNA.ORG_CI=1;")
    assert size % 188 == 0
    async with ClientSession() as tv:
        async with tv.head(url, headers=TV) as head:
            assert head.status == 200 and await head.read() == b""
            assert head.headers["Content-Length"] == str(size)
            assert head.headers["Accept-Ranges"] == "bytes"
            assert head.headers["contentFeatures.dlna.org"].startswith("DLNA.ORG_OP=11;")

        middle = size // 2 + 77  # not on a packet boundary: the answer starts mid-packet
        async with tv.get(url, headers={**TV, "Range": f"bytes={middle}-"}) as response:
            assert response.status == 206, await response.text()
            assert response.headers["Content-Range"] == f"bytes {middle}-{size - 1}/{size}"
            body = await response.read()
        assert len(body) == size - middle
        (tmp_path / "middle.ts").write_bytes(body)
        video, audio = first_times(tmp_path / "middle.ts")
        assert abs(video - TS_OFFSET - SECONDS / 2) <= 2, video  # the film's own clock
        assert abs(audio - video) <= 0.5, (video, audio)
        if FILMS[title][0] == "libx264":  # copied: it starts on a keyframe, at its own time
            keyframe = (video - TS_OFFSET) / KEYFRAMES
            assert abs(keyframe - round(keyframe)) * KEYFRAMES <= 0.05, video

        async with tv.get(url, headers={**TV, "Range": "bytes=0-"}) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
            whole = await response.read()
        assert len(whole) == size
        (tmp_path / "whole.ts").write_bytes(whole)
        codecs, length = facts(tmp_path / "whole.ts")
        assert codecs == codecs_sent
        assert abs(length - SECONDS) <= 0.5, length
        assert abs(first_times(tmp_path / "whole.ts")[0] - TS_OFFSET) <= 0.1

        piece = size // 3
        async with tv.get(url, headers={**TV, "Range": f"bytes={piece}-{piece + 999}"}) as got:
            assert got.status == 206 and len(await got.read()) == 1000
        async with tv.get(url, headers={**TV, "Range": "bytes=-500"}) as got:  # the tail
            assert got.status == 206 and len(await got.read()) == 500
            assert got.headers["Content-Range"] == f"bytes {size - 500}-{size - 1}/{size}"
        async with tv.get(url, headers={**TV, "Range": f"bytes={size}-"}) as got:
            assert got.status == 416
            assert got.headers["Content-Range"] == f"bytes */{size}"
    capacity = server.hub.playback.capacity
    for _ in range(100):  # every ffmpeg stopped once its range was sent, its slot given back
        if capacity.in_use == 0:
            break
        await asyncio.sleep(0.05)
    assert capacity.in_use == 0
