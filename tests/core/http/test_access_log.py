"""The access log's size is the body's, whichever way it went out: whole responses, chunked
streams, files the kernel sends (aiohttp's FileResponse, and a sender like
core/playback/sendfile.py), ranges, HEAD, and streams the client cut short."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from core.http.server import ACCESS_LOGGER, HttpServer

CHUNK = 100_000
BIG = 256 * 1024 * 1024  # more than any socket buffer holds: the kernel must stop mid-file
FOLDER = web.AppKey("folder", Path)


class AccessLines(logging.Handler):
    """The access log's lines, and an event for each new one."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.added = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.added.set()

    async def line_for(self, path: str) -> str:
        """The next line logged for `path` (requests are answered in turn; wait for its log)."""
        while True:
            for number, line in enumerate(self.lines):
                if line.split()[1] == path:
                    return self.lines.pop(number)
            self.added.clear()
            await self.added.wait()


def size_of(line: str) -> str:
    return line.split()[3]


async def plain(request: web.Request) -> web.Response:
    return web.Response(body=b"p" * 12345)


async def file(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[FOLDER] / "file.bin")


async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(int(request.query.get("chunks", "10"))):
        await response.write(b"s" * CHUNK)
    await response.write_eof()
    return response


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    try:
        while True:
            await response.write(b"e" * CHUNK)
    except ConnectionError:
        return response


async def beside_the_writer(request: web.Request) -> web.StreamResponse:
    """As core/playback/sendfile.py sends: a declared length, the kernel's sendfile, and the
    connection closed when the file cannot all be sent."""
    path = request.app[FOLDER] / request.match_info["name"]
    response = web.StreamResponse()
    response.content_length = path.stat().st_size
    await response.prepare(request)
    with path.open("rb") as file:
        try:
            assert request.transport is not None
            await asyncio.get_running_loop().sendfile(request.transport, file)
        except ConnectionError:
            response.force_close()
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


@pytest.fixture
async def logged(tmp_path: Path) -> AsyncIterator[tuple[str, AccessLines]]:
    """A server with every kind of response on 127.0.0.1, and its access lines."""
    (tmp_path / "file.bin").write_bytes(b"f" * 1_000_000)
    with (tmp_path / "big.bin").open("wb") as big:
        big.truncate(BIG)  # sparse: no disk space, all of it sendable
    server = HttpServer()
    server.app[FOLDER] = tmp_path
    routes = server.app.router
    routes.add_get("/plain", plain)
    routes.add_get("/stream", stream)
    routes.add_get("/endless", endless)
    routes.add_get("/file", file)
    routes.add_get("/sendfile/{name}", beside_the_writer)
    lines = AccessLines()
    ACCESS_LOGGER.addHandler(lines)
    level = ACCESS_LOGGER.level
    ACCESS_LOGGER.setLevel(logging.INFO)
    try:
        port = await server.start("127.0.0.1", 0)
        yield f"http://127.0.0.1:{port}", lines
    finally:
        await server.stop()
        ACCESS_LOGGER.removeHandler(lines)
        ACCESS_LOGGER.setLevel(level)


async def test_each_kind_of_response_logs_its_body_size(
    logged: tuple[str, AccessLines],
) -> None:
    url, lines = logged
    async with aiohttp.ClientSession() as http:
        for path, headers, size in (
            ("/plain", {}, 12345),  # the body, not the headers
            ("/stream", {}, 10 * CHUNK),  # chunked: without the framing
            ("/file", {}, 1_000_000),  # the kernel's sendfile
            ("/file", {"Range": "bytes=100-"}, 999_900),
            ("/sendfile/file.bin", {}, 1_000_000),
        ):
            async with http.get(url + path, headers=headers) as reply:
                assert len(await reply.read()) == size
            assert size_of(await lines.line_for(path)) == f"{size}B", path
        async with http.head(url + "/file") as reply:
            assert reply.status == 200
        assert size_of(await lines.line_for("/file")) == "0B"


async def test_a_stream_cut_short_logs_what_went_out(logged: tuple[str, AccessLines]) -> None:
    url, lines = logged
    async with aiohttp.ClientSession() as http:
        reply = await http.get(url + "/endless")
        await reply.content.readexactly(3 * CHUNK)
        reply.close()  # the player went away mid-stream
        sent = int(size_of(await lines.line_for("/endless")).removesuffix("B"))
        assert sent >= 3 * CHUNK and sent % CHUNK == 0
        reply = await http.get(url + "/sendfile/big.bin")
        await reply.content.readexactly(1000)
        reply.close()
        assert size_of(await lines.line_for("/sendfile/big.bin")) == f"<={BIG}B"
