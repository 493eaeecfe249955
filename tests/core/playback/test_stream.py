"""Direct play on a real server and a real scanned library: byte-exact ranges, validators,
HEAD, content types, keep-alive, a slow and a vanishing client, and the 404/410 answers.

Why byte-exact: a player that seeks gets exactly the bytes it asked for or the picture breaks;
comparing against the file on disk is the only check that cannot be fooled by headers.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from core.playback.sendfile import RangeNotSatisfiable, byte_range
from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import items, settle

BIG = "Movies/Noise (2021).mkv"  # ~18 MB: far more than one socket buffer


def make_big_video(path: Path) -> None:
    """Real but incompressible H.264 (random luma, lossless), so a small clip is big."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "nullsrc=s=640x360:r=25:d=2,geq=lum='random(1)*255':cb=128:cr=128",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
async def library(start_server: StartServer, tmp_path: Path) -> tuple[RunningServer, Path]:
    base = tmp_path / "media"
    build_library(base)
    make_big_video(base / BIG)
    server = await start_server(library_yaml(base))
    await settle(server)
    return server, base


async def item_url(server: RunningServer, title: str, kind: str = "movie") -> str:
    found = [i for i in await items(server, kind=kind) if i["title"] == title]
    assert len(found) == 1, f"{title} not in the catalog"
    return f"{server.url}/api/items/{found[0]['id']}/stream"


async def get(
    server: RunningServer, url: str, method: str = "GET", **headers: str
) -> tuple[int, CIMultiDict[str], bytes]:
    async with server.session.request(method, url, headers=headers) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


def test_byte_range_parsing() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 10)
    assert byte_range("bytes=90-", 100) == (90, 100)
    assert byte_range("bytes=-10", 100) == (90, 100)
    assert byte_range("bytes=-500", 100) == (0, 100)  # longer than the file: all of it
    assert byte_range("bytes=50-5000", 100) == (50, 100)  # last byte past the end: clamped
    assert byte_range("Bytes = 1-2", 100) == (1, 3)
    assert byte_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert byte_range("items=0-1", 100) is None  # another unit: ignored
    for bad in ("bytes=100-", "bytes=-0", "bytes=5-4", "bytes=abc", "bytes=-", "bytes=1-2-3"):
        with pytest.raises(RangeNotSatisfiable):
            byte_range(bad, 100)
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=-1", 0)


async def test_ranges_are_byte_exact(library: tuple[RunningServer, Path]) -> None:
    server, base = library
    url = await item_url(server, "Alien")
    data = (base / "Movies/Alien (1979).mp4").read_bytes()
    size = len(data)
    assert size > 2000
    status, headers, body = await get(server, url)
    assert (status, body) == (200, data)
    assert headers["Content-Length"] == str(size)
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Cache-Control"] == "private, no-transform"
    assert "Content-Range" not in headers
    stat = (base / "Movies/Alien (1979).mp4").stat()
    assert headers["ETag"] == f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    assert headers["Last-Modified"] == email.utils.formatdate(int(stat.st_mtime), usegmt=True)

    middle = size // 2
    cases = {
        "bytes=0-99": (0, 100),
        f"bytes={middle}-{middle + 499}": (middle, middle + 500),
        "bytes=-500": (size - 500, size),
        "bytes=1000-": (1000, size),
        f"bytes={size - 10}-{size + 5000}": (size - 10, size),
    }
    for header, (start, end) in cases.items():
        status, headers, body = await get(server, url, Range=header)
        assert status == 206, header
        assert body == data[start:end], header
        assert headers["Content-Range"] == f"bytes {start}-{end - 1}/{size}"
        assert headers["Content-Length"] == str(end - start)

    for unsatisfiable in ("bytes=999999999-", f"bytes={size}-", "bytes=-0", "bytes=9-3"):
        status, headers, body = await get(server, url, Range=unsatisfiable)
        assert status == 416, unsatisfiable
        assert headers["Content-Range"] == f"bytes */{size}"
        assert b"range_not_satisfiable" in body
    for ignored in ("bytes=0-1,5-6", "pages=1-2"):
        status, _, body = await get(server, url, Range=ignored)
        assert (status, body) == (200, data)


async def test_if_range_and_conditionals(library: tuple[RunningServer, Path]) -> None:
    server, base = library
    url = await item_url(server, "Alien")
    data = (base / "Movies/Alien (1979).mp4").read_bytes()
    _, headers, _ = await get(server, url, "HEAD")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    status, _, body = await get(server, url, Range="bytes=10-19", **{"If-Range": etag})
    assert (status, body) == (206, data[10:20])
    status, _, body = await get(server, url, Range="bytes=10-19", **{"If-Range": modified})
    assert (status, body) == (206, data[10:20])
    stale_etag = '"1234-5678"'
    stale_date = email.utils.formatdate(0, usegmt=True)
    for stale in (stale_etag, stale_date, "W/" + etag, "not a validator"):
        status, headers, body = await get(server, url, Range="bytes=10-19", **{"If-Range": stale})
        assert (status, body) == (200, data), stale  # changed since: the whole new file
        assert "Content-Range" not in headers

    status, headers, body = await get(server, url, **{"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag)
    status, _, _ = await get(server, url, **{"If-Modified-Since": modified})
    assert status == 304
    status, _, _ = await get(server, url, **{"If-Match": stale_etag})
    assert status == 412
    status, _, body = await get(server, url, **{"If-Match": etag, "If-None-Match": stale_etag})
    assert (status, body) == (200, data)


async def test_head_sends_headers_only(library: tuple[RunningServer, Path]) -> None:
    server, base = library
    url = await item_url(server, "Alien")
    size = (base / "Movies/Alien (1979).mp4").stat().st_size
    status, headers, body = await get(server, url, "HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(size)
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Accept-Ranges"] == "bytes" and headers["ETag"] and headers["Last-Modified"]
    status, headers, body = await get(server, url, "HEAD", Range="bytes=0-99")
    assert (status, body, headers["Content-Length"]) == (206, b"", "100")
    assert headers["Content-Range"] == f"bytes 0-99/{size}"


async def test_content_types(library: tuple[RunningServer, Path]) -> None:
    server, _ = library
    expected = {
        ("Blade Runner", "movie"): "video/x-matroska",
        ("Alien", "movie"): "video/mp4",
        ("So What", "track"): "audio/mpeg",
        ("Freddie Freeloader", "track"): "audio/flac",
    }
    for (title, kind), mime in expected.items():
        status, headers, _ = await get(server, await item_url(server, title, kind), "HEAD")
        assert (status, headers["Content-Type"]) == (200, mime), title


def raw_request(path: str, token: str, extra: str = "") -> bytes:
    host = "127.0.0.1"  # a name the box answers to (core.http.origin checks Host)
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {token}\r\n{extra}\r\n"
    ).encode()


def read_response(sock: socket.socket, pending: bytearray) -> tuple[str, bytes]:
    """One HTTP/1.1 response with a Content-Length body from a blocking socket."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        pending += chunk
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed mid-body"
        body += chunk
    pending[:] = body[length:]
    return head.decode().split("\r\n")[0], bytes(body[:length])


def pipelined_blocking(port: int, path: str, token: str) -> list[tuple[str, bytes]]:
    """Three requests written at once on one connection, read back slowly (a small receive
    buffer keeps the server's socket full, so it must wait for room)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        sock.connect(("127.0.0.1", port))
        sock.settimeout(30)
        sock.sendall(
            raw_request(path, token)
            + raw_request(path, token, "Range: bytes=-100\r\n")
            + raw_request(path, token)
        )
        pending = bytearray()
        return [read_response(sock, pending) for _ in range(3)]


async def test_big_file_keep_alive_and_a_slow_reader(library: tuple[RunningServer, Path]) -> None:
    server, base = library
    url = await item_url(server, "Noise")
    data = (base / BIG).read_bytes()
    assert len(data) > 8_000_000
    token = server.session.headers["Authorization"]
    path = url.removeprefix(server.url)
    answers = await asyncio.to_thread(pipelined_blocking, server.hub.port, path, token)
    assert [status for status, _ in answers] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 206 Partial Content",
        "HTTP/1.1 200 OK",
    ]
    digest = hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(answers[0][1]).hexdigest() == digest
    assert answers[1][1] == data[-100:]
    assert hashlib.sha256(answers[2][1]).hexdigest() == digest


def hang_up_blocking(port: int, path: str, token: str) -> None:
    """Read the start of the file, then reset the connection (linger 0) like a seeking player."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        sock.connect(("127.0.0.1", port))
        sock.sendall(raw_request(path, token))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def test_a_client_hanging_up_mid_file_is_not_an_error(
    library: tuple[RunningServer, Path],
) -> None:
    """Players drop connections on every seek; that must log no ERROR (the autouse guard
    checks) and leave the server serving."""
    server, base = library
    url = await item_url(server, "Noise")
    token = server.session.headers["Authorization"]
    for _ in range(3):
        await asyncio.to_thread(
            hang_up_blocking, server.hub.port, url.removeprefix(server.url), token
        )
    await asyncio.sleep(0.2)
    status, _, body = await get(server, url, Range="bytes=0-9")
    assert (status, body) == (206, (base / BIG).read_bytes()[:10])


async def test_missing_file_404_and_offline_library_410(
    library: tuple[RunningServer, Path],
) -> None:
    server, base = library
    blade_runner = await item_url(server, "Blade Runner")
    alien = await item_url(server, "Alien")
    os.remove(base / "Movies/Blade Runner (1982)/Blade Runner (1982).mkv")  # behind its back
    status, _, body = await get(server, blade_runner)
    assert status == 404 and b"file_missing" in body
    status, _, body = await get(server, blade_runner, "HEAD")
    assert status == 404
    status, _, body = await get(server, f"{server.url}/api/items/nosuchitem/stream")
    assert status == 404 and b"item_not_found" in body

    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET online = 0 WHERE name = 'Movies'")
    )
    status, _, body = await get(server, alien, Range="bytes=0-9")
    payload: dict[str, Any] = json.loads(body)
    assert status == 410 and payload["error"]["code"] == "library_offline"
    assert "Movies" in payload["error"]["message"]


async def test_signed_out_requests_are_refused(library: tuple[RunningServer, Path]) -> None:
    server, _ = library
    url = await item_url(server, "Alien")
    async with server.session.get(url, headers={"Authorization": "Bearer wrong"}) as response:
        assert response.status == 401
