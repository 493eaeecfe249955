"""The MPEG-TS transcode a TV fetches: a plain aiohttp client with a Samsung User-Agent gets
H.264/AAC that ffprobe decodes, seeks by time with TimeSeekRange.dlna.org (and by bytes:
tests/plugins/dlna/test_byte_seek.py), and is told to come back later (503, Retry-After) when
the box is busy."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from core.http.errors import ApiError
from plugins.dlna.transcode import npt_seconds, time_seek_answer, time_seek_start
from tests.conftest import RunningServer, StartServer
from tests.core.scan.test_scanner import settle
from tests.plugins.dlna.dms import dms

SAMSUNG = {"User-Agent": "SEC_HHP_[TV] Samsung Q7 Series (55)/1.0 DLNADOC/1.50"}
SECONDS = 8


def probe(path: Path) -> dict[str, Any]:
    found = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(path)],
        capture_output=True, check=True, timeout=30, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(found.stdout)
    return result


async def fetch(
    client: ClientSession, url: str, path: Path, headers: dict[str, str], limit: int | None
) -> dict[str, str]:
    """GET `url` into `path` (hanging up after `limit` bytes); the response headers."""
    async with client.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        data = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            data += chunk
            if limit is not None and len(data) >= limit:
                break
        path.write_bytes(bytes(data))
        return dict(response.headers)


async def server_with_film(start_server: StartServer, base: Path) -> tuple[RunningServer, str]:
    """A library of one MPEG-4 Part 2 / Opus film, which a Samsung TV cannot play as it is."""
    movies = base / "Movies" / "Big Test (2008)"
    movies.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:d={SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:d={SECONDS}", "-c:v", "mpeg4", "-q:v", "4",
         "-c:a", "libopus", "-shortest", str(movies / "Big Test (2008).mkv")],
        check=True, timeout=60,
    )  # fmt: skip
    server = await start_server(
        "dlna: {ssdp: false}\nfilename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{base / 'Movies'}']}}\n"
    )
    await settle(server)
    device = await dms(server)
    library = (await device.async_browse_direct_children("0")).result[0]
    film = next(
        o
        for o in (await device.async_browse_direct_children(library.id)).result  # type: ignore[union-attr]
        if o.title == "Big Test"
    )
    transcode = film.res[1]  # type: ignore[union-attr]
    assert transcode.protocol_info.startswith("http-get:*:video/mpeg:DLNA.ORG_OP=11;DLNA.ORG_CI=1;")
    assert transcode.duration.startswith(f"0:00:{SECONDS:02d}.0")
    return server, transcode.uri


async def test_a_samsung_tv_streams_h264_aac_and_seeks_by_time(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, url = await server_with_film(start_server, tmp_path / "media")
    capacity = server.hub.playback.capacity
    async with ClientSession() as tv:  # no account: a TV has none
        async with tv.head(url, headers={**SAMSUNG, "getcontentFeatures.dlna.org": "1"}) as head:
            assert head.status == 200 and await head.read() == b""
            assert head.headers["Content-Type"] == "video/mpeg"
            assert head.headers["contentFeatures.dlna.org"].startswith(
                "DLNA.ORG_OP=11;DLNA.ORG_CI=1;DLNA.ORG_FLAGS="
            )
        wanted = {**SAMSUNG, "transferMode.dlna.org": "Streaming"}
        headers = await fetch(tv, url, tmp_path / "start.ts", wanted, limit=300_000)
        assert headers["Content-Type"] == "video/mpeg"
        assert headers["transferMode.dlna.org"] == "Streaming"
        assert headers["contentFeatures.dlna.org"].startswith("DLNA.ORG_OP=11;DLNA.ORG_CI=1;")
        assert (tmp_path / "start.ts").stat().st_size >= 300_000
        codecs = {s["codec_name"] for s in probe(tmp_path / "start.ts")["streams"]}
        assert codecs == {"h264", "aac"}
        for _ in range(100):  # hanging up stops ffmpeg and gives its slot back
            if capacity.in_use == 0:
                break
            await asyncio.sleep(0.05)
        assert capacity.in_use == 0

        seek = {**SAMSUNG, "TimeSeekRange.dlna.org": "npt=5-"}
        headers = await fetch(tv, url, tmp_path / "end.ts", seek, limit=None)
        end = headers["TimeSeekRange.dlna.org"].removeprefix("npt=5.000-")
        assert end.startswith("8.0") and end == f"{end.split('/')[0]}/{end.split('/')[0]}"
        rest = probe(tmp_path / "end.ts")
        assert {s["codec_name"] for s in rest["streams"]} == {"h264", "aac"}
        assert 2.5 <= float(rest["format"]["duration"]) <= 3.5

        for header, status in (("npt=9-", 416), ("bytes=0-", 400)):
            async with tv.get(url, headers={"TimeSeekRange.dlna.org": header}) as response:
                assert response.status == status, header
        async with tv.get(url, headers={"Range": "bytes=0-"}) as response:
            assert response.status == 206  # byte ranges too: test_byte_seek.py
            await response.content.read(1)
        capacity.in_use += 1000  # the box is busy converting other videos
        try:
            async with tv.get(url, headers=SAMSUNG) as response:
                assert response.status == 503
                assert response.headers["Retry-After"] == "60"
                assert (await response.json())["error"]["code"] == "transcode_capacity"
        finally:
            capacity.in_use -= 1000


def test_time_seek_headers_are_read_and_written_as_dlna_says() -> None:
    assert [npt_seconds(t) for t in ("90.5", "1:30.5", "0:01:30.500", "1:61", "x")] == [
        90.5, 90.5, 90.5, None, None
    ]  # fmt: skip
    assert time_seek_start(None) is None
    assert time_seek_start("npt=0:00:12.5-") == 12.5
    assert time_seek_start(" NPT = 5 - 9 ") == 5.0
    with pytest.raises(ApiError):
        time_seek_start("npt=-5")
    assert time_seek_answer(5, 10) == "npt=5.000-10.000/10.000"
    assert time_seek_answer(5, None) == "npt=5.000-"
