"""Direct play's own file path: one byte range, the validators, then the kernel's sendfile.

Why not aiohttp's FileResponse (DESIGN.md: 0.72x nginx here): bench/playback.py shows bulk
throughput is the kernel's either way (one os.sendfile moves 2-6 MB on loopback, so Python's
per-call cost is noise); what a path of our own saves is per-request work (one executor hop
to open and stat, none to close, no stat on the event loop: first byte p50 ~0.8 -> ~0.6 ms) and
it keeps the semantics in our hands: a single range (suffix and open-ended too), If-Range with
an ETag or a date, 304/412 for the other conditionals, 206 and a JSON 416 with Content-Range,
HEAD. Measured and not kept: a 4 MB SO_SNDBUF (less server CPU on this VM, but it turns off
autotuning, and under the kernel's default 208 KB wmem_max it would shrink the buffer) and
sendfile in worker threads (+8-19% at 8 clients on loopback for +40-70% CPU per GB). Bytes go
out on a duplicate of the socket's descriptor, so no file is read into memory and a socket the
server closes meanwhile is never confused with a new one that got the same number. The file is
opened through the library roots (core.library.roots): a file that is not a library file, a
link leading out of the library folders included, answers exactly as a missing one. Every route
that sends a library file as it is (direct play, and DLNA's media and subtitle files) uses it,
so it is also where a GET of one becomes PlaybackStarted/PlaybackStopped on the app's bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import re
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import web

from core.events import Event, PlaybackStarted, PlaybackStopped
from core.http.errors import ApiError
from core.library.roots import LibraryRoots

_LOGGER = logging.getLogger("hearth.playback")
PLAYBACK_EVENTS = web.AppKey[Callable[[Event], None]]("playback_events")
"""Where a direct play's PlaybackStarted/PlaybackStopped go (the hub's bus); absent: nowhere."""
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the file does not have (answered 416)."""


@dataclass(frozen=True, slots=True)
class Validators:
    """What identifies one version of a file: its ETag and its Last-Modified second."""

    etag: str
    modified: int

    @classmethod
    def of(cls, st: os.stat_result) -> Validators:
        # The same ETag aiohttp's FileResponse gives, so players' cached validators stay valid.
        return cls(f'"{st.st_mtime_ns:x}-{st.st_size:x}"', int(st.st_mtime))

    @property
    def last_modified(self) -> str:
        return email.utils.formatdate(self.modified, usegmt=True)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for, as (start, end exclusive), or None for the whole file.

    Several ranges are served as the whole file (RFC 9110 lets a server ignore Range; nginx does
    the same past max_ranges), and so is any other unit. A malformed or unsatisfiable bytes range
    raises RangeNotSatisfiable.
    """
    if header is None:
        return None
    value = "".join(header.split()).lower()
    if not value.startswith("bytes=") or "," in value:
        return None
    match = _RANGE.fullmatch(value)
    if match is None or match.groups() == ("", ""):
        raise RangeNotSatisfiable(value)
    first, last = match.groups()
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(value)
        return max(0, size - length), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if (last and int(last) < start) or start >= size:
        raise RangeNotSatisfiable(value)
    return start, end


def _http_date(value: str) -> int | None:
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    return None


def _etag_listed(header: str, etag: str, weak: bool) -> bool:
    """Whether an If-Match / If-None-Match list names this ETag (`*` names any)."""
    for tag in (t.strip() for t in header.split(",")):
        if tag in ("*", etag) or (weak and tag.removeprefix("W/") == etag):
            return True
    return False


def if_range_holds(value: str | None, validators: Validators) -> bool:
    """Whether a Range may be honoured: no If-Range, or it names this version exactly (a strong
    ETag match, or the Last-Modified date itself). Otherwise the whole file is sent."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == validators.etag
    return _http_date(value) == validators.modified


def precondition(request: web.BaseRequest, validators: Validators) -> int | None:
    """412 or 304 when a conditional header says so (RFC 9110 section 13.2.2), else None."""
    headers = request.headers
    if (match := headers.get("If-Match")) is not None:
        if not _etag_listed(match, validators.etag, weak=False):
            return 412
    elif (since := headers.get("If-Unmodified-Since")) is not None:
        date = _http_date(since)
        if date is not None and validators.modified > date:
            return 412
    if (none_match := headers.get("If-None-Match")) is not None:
        return 304 if _etag_listed(none_match, validators.etag, weak=True) else None
    if (since := headers.get("If-Modified-Since")) is not None:
        date = _http_date(since)
        if date is not None and validators.modified <= date:
            return 304
    return None


async def send_file(
    request: web.Request,
    path: Path,
    headers: dict[str, str],
    roots: LibraryRoots,
    missing: ApiError | None = None,
) -> web.StreamResponse:
    """Answer GET or HEAD with the library file at `path`; `headers` (Content-Type…) are
    added. A file that is gone, or not a library file, is answered with `missing` (default:
    404 file_missing)."""
    loop = asyncio.get_running_loop()
    try:
        opened = await loop.run_in_executor(None, roots.open_blocking, path)
    except PermissionError as err:
        raise ApiError(403, "Hearth may not read this file; check its permissions.") from err
    except OSError as err:
        raise missing or ApiError(
            404, "The file is gone from disk; a rescan will tidy up.", "file_missing"
        ) from err
    publish = request.config_dict.get(PLAYBACK_EVENTS) if request.method == "GET" else None
    with opened:
        if publish is None:
            return await _answer(request, opened.file, opened.stat, headers, path)
        stream_id = secrets.token_urlsafe(6)
        publish(PlaybackStarted(stream_id, "direct"))
        try:
            return await _answer(request, opened.file, opened.stat, headers, path)
        finally:  # the body has been sent (or cut) by now
            publish(PlaybackStopped(stream_id, "direct"))


async def send_server_file(
    request: web.Request, path: Path, headers: dict[str, str]
) -> web.StreamResponse:
    """Answer GET or HEAD with a file the server made itself (a cached thumbnail or photo copy,
    a transcoded segment): the same ranges and validators as a library file, 404 when gone."""
    loop = asyncio.get_running_loop()
    try:
        file, st = await loop.run_in_executor(None, _open_own_blocking, path)
    except OSError as err:
        raise ApiError(404, "This file is gone; ask again.", "file_missing") from err
    with file:
        return await _answer(request, file, st, headers, path)


def _open_own_blocking(path: Path) -> tuple[IO[bytes], os.stat_result]:
    file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
    try:
        st = os.fstat(file.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(path)
    except BaseException:
        file.close()
        raise
    return file, st


async def _answer(
    request: web.Request,
    file: IO[bytes],
    st: os.stat_result,
    headers: dict[str, str],
    path: Path,
) -> web.StreamResponse:
    """Conditionals, the one range, then the bytes of an open file."""
    size, validators = st.st_size, Validators.of(st)
    common = {
        **headers,
        "ETag": validators.etag,
        "Last-Modified": validators.last_modified,
        "Accept-Ranges": "bytes",
    }
    status = precondition(request, validators)
    if status == 412:
        raise ApiError(412, "The file changed since this copy was fetched.")
    if status == 304:
        return web.Response(status=304, headers=common)
    span = None
    if if_range_holds(request.headers.get("If-Range"), validators):
        try:
            span = byte_range(request.headers.get("Range"), size)
        except RangeNotSatisfiable as err:
            raise ApiError(
                416,
                f"This file has {size} bytes; the range asked for is outside it.",
                "range_not_satisfiable",
                **{"Content-Range": f"bytes */{size}"},
            ) from err
    start, end = span or (0, size)
    response = web.StreamResponse(status=206 if span else 200, headers=common)
    if span:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response.content_length = end - start
    try:
        await response.prepare(request)
        if request.method != "HEAD" and end > start:
            await _send(request, response, file, start, end - start, path)
        await response.write_eof()
    except ConnectionResetError:  # gone before the headers or the end: a seek, a remote
        _LOGGER.info("%s %s: the client went away", request.method, request.path)
    return response


async def _send(
    request: web.Request,
    response: web.StreamResponse,
    file: IO[bytes],
    offset: int,
    count: int,
    path: Path,
) -> None:
    """The body: os.sendfile straight onto the socket on the default (selector) loop; copied in
    chunks for TLS, a transport still holding bytes, or another loop. A client that
    hangs up mid-file is normal (a seek, a closed app): the connection is just closed. A drive
    failing mid-file is logged; the headers are gone, so the client gets a short body."""
    transport = request.transport
    loop = asyncio.get_running_loop()
    sock = None if transport is None else transport.get_extra_info("socket")
    try:
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away")
        if (
            sock is None
            or transport.get_extra_info("sslcontext") is not None
            or transport.get_write_buffer_size()
            or not isinstance(loop, asyncio.SelectorEventLoop)
        ):
            await _copy(response, file, offset, count)
            return
        resume = transport.is_reading()
        transport.pause_reading()  # as loop.sendfile does: the next request waits its turn
        try:
            sent = await _sendfile(loop, sock.fileno(), file.fileno(), offset, count)
        finally:
            if resume and not transport.is_closing():
                transport.resume_reading()
        if sent < count:  # the file shrank under us: the promised length cannot be kept
            response.force_close()
    except ConnectionError:
        response.force_close()
    except OSError as err:
        _LOGGER.warning("Reading %s failed while sending it: %s", path, err)
        response.force_close()


# TLS cannot use sendfile: every byte is read, encrypted and written by this process. 1 MiB
# reads (not 256 KiB) make a quarter of the loop turns per GB; with the read-ahead and the
# cached reads on the loop below, a 200 MB file over HTTPS in a namespace took ~1.1 server CPU
# s/GB instead of ~1.5-1.8 (most of the difference was waking an executor thread per chunk).
COPY_CHUNK = 1 << 20
Chunk = bytes | bytearray | memoryview


async def _copy(response: web.StreamResponse, file: IO[bytes], offset: int, count: int) -> None:
    """Read and write in chunks (TLS, or no plain socket): each write waits for the client
    (flow control) and fails as soon as the connection is gone, so a phone that hangs up on a
    stream through the relay stops the reading at once. (loop.sendfile's fallback for TLS kept
    reading the whole file after a hang-up, warning once per chunk.) The next chunk is read
    while this one is encrypted and sent: one chunk after the other left the socket idle
    during each read, and on a busy box each executor hop waits for a thread to be scheduled."""
    loop = asyncio.get_running_loop()
    fd, end = file.fileno(), offset + count
    reading = _read(loop, fd, min(COPY_CHUNK, count), offset)
    try:
        while True:
            chunk = await reading
            if not chunk:
                response.force_close()  # the file shrank under us: the promised length is not kept
                return
            offset += len(chunk)
            if offset < end:
                reading = _read(loop, fd, min(COPY_CHUNK, end - offset), offset)
            await response.write(chunk)
            if offset >= end:
                return
            # a cached chunk and a socket with room never suspend: without this turn a whole
            # file could go out in one, serving nobody else and missing a hang-up until the end
            await asyncio.sleep(0)
    finally:
        reading.cancel()  # a read still running off the loop finishes; its bytes are dropped


def _read(
    loop: asyncio.AbstractEventLoop, fd: int, size: int, offset: int
) -> asyncio.Future[Chunk]:
    """`size` bytes at `offset` (fewer at the end of the file, or fewer when only those are in
    the page cache). What the page cache holds is read right here (RWF_NOWAIT: the kernel
    answers EAGAIN instead of waiting for the drive); anything that needs the drive is read off
    the loop, so a slow USB drive never stalls other requests."""
    future: asyncio.Future[Chunk] = loop.create_future()
    buffer = bytearray(size)
    try:
        got = os.preadv(fd, [buffer], offset, os.RWF_NOWAIT)
    except OSError:  # EAGAIN: not cached; EOPNOTSUPP: this file system cannot tell
        return loop.run_in_executor(None, os.pread, fd, size, offset)
    # a fresh buffer per chunk: the transport may keep it until it is encrypted and sent
    future.set_result(buffer if got == size else memoryview(buffer)[:got])
    return future


async def _sendfile(
    loop: asyncio.AbstractEventLoop, sock_fd: int, file_fd: int, offset: int, count: int
) -> int:
    """Send until done, waiting for the socket only when it is full; returns bytes sent.

    On a duplicate descriptor: it keeps the connection alive until we finish even if the server
    closes the transport meanwhile, and its number cannot be reused by an unrelated file.
    """
    fd = os.dup(sock_fd)
    total = 0
    try:
        while total < count:
            try:
                sent = os.sendfile(fd, file_fd, offset + total, count - total)
            except BlockingIOError:
                await _writable(loop, fd)
                continue
            if sent == 0:
                break
            total += sent
    finally:
        os.close(fd)
    return total


async def _writable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    waiter: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not waiter.done():
            waiter.set_result(None)

    loop.add_writer(fd, ready)
    try:
        await waiter
    finally:
        loop.remove_writer(fd)
