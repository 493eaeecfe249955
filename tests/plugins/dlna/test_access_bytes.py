"""The access log's byte count is what the client received, on the real streaming routes (issue
12): a TV's file (the DLNA sendfile path) whole and by range, the signed-in stream, the TV's
constant-rate transcode whole and from a byte offset, the progressive transcode (chunked) and
an HLS segment. Before, streamed bodies were logged as 0 bytes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.conftest import RunningServer, StartServer
from tests.core.playback.films import make_film
from tests.core.scan.test_scanner import items, settle

TV = {"User-Agent": "Linux/4.4 UPnP/1.0 DLNADOC/1.50 Generic TV"}


async def logged_size(caplog: pytest.LogCaptureFixture, asked: str, seen: int) -> str:
    """The size field of the first access line for `asked` after the first `seen` records."""
    for _ in range(400):
        for record in caplog.records[seen:]:
            words = record.getMessage().split()
            if record.name == "hearth.access" and len(words) > 3 and words[1] == asked:
                return words[3]
        await asyncio.sleep(0.025)
    raise AssertionError(f"{asked} was never logged")


async def test_streamed_bodies_are_counted_as_received(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    movies = tmp_path / "Movies"
    make_film(movies / "Alien (1979).mp4", 6.0, size=(192, 108))
    make_film(movies / "Heat (1995).mkv", 6.0, video="libx265", audio="ac3", size=(192, 108))
    server: RunningServer = await start_server(
        "dlna: {ssdp: false}\nfilename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await settle(server)
    ids = {film["title"]: film["id"] for film in await items(server, kind="movie")}
    alien, heat = ids["Alien"], ids["Heat"]
    caplog.set_level(logging.INFO, logger="hearth.access")
    signed_in, tv = server.session, ClientSession(headers=TV)
    asks = [
        (tv, f"/dlna/media/{alien}.mp4", {}),  # the kernel's sendfile
        (tv, f"/dlna/media/{alien}.mp4", {"Range": "bytes=1000-4999"}),
        (signed_in, f"/api/items/{alien}/stream", {}),
        (signed_in, f"/api/items/{alien}/stream", {"Range": "bytes=100-"}),
        (tv, f"/dlna/transcode/{heat}.ts", {}),  # constant rate, a known length
        (tv, f"/dlna/transcode/{heat}.ts", {"Range": "bytes=188000-"}),
        (signed_in, f"/api/items/{heat}/transcode.ts?profile=dlna-generic", {}),  # chunked
    ]
    async with tv:
        for client, path, headers in asks:
            seen = len(caplog.records)
            async with client.get(server.url + path, headers=headers) as reply:
                assert reply.status in (200, 206), (path, reply.status, await reply.text())
                body = await reply.read()
            assert body, path
            assert await logged_size(caplog, path, seen) == f"{len(body)}B", (path, headers)
    # the HLS session last: it holds the box's one transcode while it lasts
    master = f"/api/items/{heat}/hls/master.m3u8"
    async with signed_in.get(server.url + master) as reply:
        variant = next(line for line in (await reply.text()).splitlines() if line.endswith(".m3u8"))
    segment = f"/api/items/{heat}/hls/{variant.rsplit('/', 1)[0]}/0.ts"
    seen = len(caplog.records)
    async with signed_in.get(server.url + segment) as reply:
        assert reply.status == 200
        body = await reply.read()
    assert await logged_size(caplog, segment, seen) == f"{len(body)}B"
