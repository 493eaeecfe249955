"""Direct play over HTTPS (the relay's only way in): a byte-exact file, and a client that hangs
up mid-file stops the reading at once instead of the whole file being read into a dead
connection with a warning per chunk (asyncio's sendfile fallback did that for TLS); whole files
and ranges across the read-ahead's chunk edges arrive exactly, from the page cache or the drive."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.playback.sendfile import COPY_CHUNK
from tests.conftest import StartServer
from tests.core.media.mediagen import make_video

T = TypeVar("T")


class DriveReads(ThreadPoolExecutor):
    """The loop's executor, counting the file reads sent to it (page-cache reads are not)."""

    count = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if fn is os.pread:
            self.count += 1
        return super().submit(fn, *args, **kwargs)


def unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def test_a_cut_https_stream_stops_reading(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    movies = tmp_path / "Movies"
    movies.mkdir()
    big = make_video(movies / "Big (2001).mkv", 1.0)
    with big.open("ab") as padding:  # 40 MiB: many chunks (players ignore the tail)
        padding.write(bytes(range(256)) * (40 * 4096))
    payload = big.read_bytes()
    server = await start_server(
        "filename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await server.hub.bus.drain()
    await server.hub.scans.wait_idle()
    found = await server.get_json("/api/items?kind=movie")
    item = found["items"][0]["id"]  # type: ignore[index]
    token = server.session.headers["Authorization"]
    port = server.hub.https.port

    async def get(extra: str = "") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=unverified())
        writer.write(
            f"GET /api/items/{item}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {token}\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        return reader, writer

    reader, writer = await get("Range: bytes=1000-1999\r\n")
    answer = await reader.read()
    writer.close()
    assert answer.split(b"\r\n\r\n", 1)[1] == payload[1000:2000]

    caplog.clear()
    reader, writer = await get()
    await reader.readexactly(512 * 1024)  # part of the body, then hang up
    writer.transport.abort()
    await asyncio.sleep(1.0)  # what a stubborn writer would fill with warnings
    noisy = [r for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.WARNING]
    assert len(noisy) <= 2, [r.getMessage() for r in noisy[:5]]


async def test_https_file_and_ranges_are_byte_exact_across_chunks(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The TLS path reads ahead in COPY_CHUNK pieces, from the page cache on the loop or from
    the drive off it: whole file and ranges across chunk edges arrive exactly, cached or not,
    and a cached file costs no executor hop per chunk."""
    reads = DriveReads(max_workers=4)
    asyncio.get_running_loop().set_default_executor(reads)  # shut down with the loop
    movies = tmp_path / "Movies"
    movies.mkdir()
    big = make_video(movies / "Big (2001).mkv", 1.0)
    with big.open("ab") as padding:  # two and a half chunks and an odd tail
        padding.write(os.urandom(2 * COPY_CHUNK + COPY_CHUNK // 2 + 7))
        padding.flush()
        os.fsync(padding.fileno())
    payload = big.read_bytes()
    size = len(payload)
    server = await start_server(
        "filename:\nfolders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n"
    )
    await server.hub.bus.drain()
    await server.hub.scans.wait_idle()
    found = await server.get_json("/api/items?kind=movie")
    item = found["items"][0]["id"]  # type: ignore[index]
    token = server.session.headers["Authorization"]

    async def get(extra: str = "") -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.hub.https.port, ssl=unverified()
        )
        writer.write(
            f"GET /api/items/{item}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {token}\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        answer = await reader.read()
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        return head, body

    def uncached() -> None:  # the next reads go to the drive (EAGAIN for RWF_NOWAIT)
        fd = os.open(big, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    for prepare in (uncached, lambda: None):
        prepare()
        before = reads.count
        head, body = await get()
        assert head.startswith(b"HTTP/1.1 200 ") and body == payload
        edge = COPY_CHUNK - 10
        head, body = await get(f"Range: bytes={edge}-{edge + COPY_CHUNK + 19}\r\n")
        assert f"Content-Range: bytes {edge}-{edge + COPY_CHUNK + 19}/{size}".encode() in head
        assert body == payload[edge : edge + COPY_CHUNK + 20]
        head, body = await get(f"Range: bytes={2 * COPY_CHUNK - 5}-\r\n")
        assert head.startswith(b"HTTP/1.1 206 ") and body == payload[2 * COPY_CHUNK - 5 :]
        head, body = await get("Range: bytes=-3\r\n")
        assert body == payload[-3:]
        if prepare is not uncached:  # all of it is in the page cache now
            assert reads.count == before
