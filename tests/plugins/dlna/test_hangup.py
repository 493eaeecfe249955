"""A TV that hangs up (it seeks, it is switched off, it only wanted to know the type) is
ordinary: the server notes it at INFO and carries on, for the file and for the transcode alike,
whenever it happens - before the headers are written or in the middle of the body. No ERROR,
no 500 in the access log."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from pathlib import Path

import pytest

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_video
from tests.core.scan.test_scanner import items, settle

BIG = 64 * 1024 * 1024  # far more than the socket buffers hold: the server is mid-file


async def hang_up(server: RunningServer, path: str, read: int, headers: str = "") -> None:
    """GET `path`; read `read` bytes of the answer (0: not even the headers), then reset."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.hub.port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.hub.port}\r\n{headers}\r\n"
    writer.write(request.encode())
    await writer.drain()
    if read:
        await reader.readexactly(read)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    writer.close()


async def logged(caplog: pytest.LogCaptureFixture, path: str) -> str:
    """The access log line of the request to `path`, once it is written (the handler ended)."""
    for _ in range(400):
        for record in caplog.records:
            if record.name == "hearth.access" and f" {path} " in record.getMessage():
                return record.getMessage()
        await asyncio.sleep(0.025)
    raise AssertionError(f"{path} never finished")


async def test_a_tv_hanging_up_at_any_moment_is_not_an_error(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    movies = tmp_path / "Movies"
    movies.mkdir()
    film = make_video(movies / "Alien (1979).mp4", 3.0)
    os.truncate(film, BIG)  # zeros after the last box: still a film to every reader
    server = await start_server(
        "dlna: {ssdp: false}\nfilename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await settle(server)
    [alien] = await items(server, kind="movie")
    caplog.set_level(logging.INFO)
    media, transcode = f"/dlna/media/{alien['id']}.mp4", f"/dlna/transcode/{alien['id']}.ts"
    for number, (path, read, headers) in enumerate(
        [
            (media, 0, ""),
            (transcode, 0, ""),
            (media, 4096, ""),
            (transcode, 4096, ""),
            (media, 4096, "Range: bytes=1000-\r\n"),
            (transcode, 4096, "TimeSeekRange.dlna.org: npt=1.0-\r\n"),
            (transcode, 4096, "Range: bytes=18800-\r\n"),  # GStreamer seeks so
        ]
    ):
        asked = f"{path}?try={number}"
        await hang_up(server, asked, read, headers)
        line = await logged(caplog, asked)
        assert " 500 " not in line, line
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    went_away = [r for r in caplog.records if "the client went away" in r.getMessage()]
    assert went_away and {r.levelno for r in went_away} == {logging.INFO}
