"""Where the relay link's connections land: a Unix socket of the plugin's, read up to TLS.

ssh's remote forward (openssh.py) connects here for every connection a phone makes to the
relay. Each one starts with the relay HAProxy's PROXY v2 header (proxy_header.py), which says
the phone's address: exactly its bytes are read (never one more), then the socket itself is
given to the box's HTTPS server (TunnelSocket.adopt), which reads the phone's TLS straight
from it, with the phone's address vouched for (so sign-in throttling and the access log tell
phones apart) and the connection `remote` whatever its socket says. A connection without a
valid header is closed before a byte reaches the server: a phone's own bytes only ever follow
the relay's header, so no phone can name its address. It never sees plaintext, never looks
past the header, and accepts connections only on its own socket (0600, in the plugin's
private folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.plugin_api import TunnelSocket
from plugins.relay.proxy_header import FIXED, ProxyHeader, ProxyHeaderError, parse_proxy_header
from plugins.relay.tls_alpn import asks_for_validation

HEADER_SECONDS = 10.0  # HAProxy sends its header at once; a connection that does not is dropped
MAX_RECORD, TLS_HANDSHAKE = 5 + 16384, 0x16
# ssh reads a channel 16 KiB at a time; a Unix socket's default 208 KiB send buffer woke the
# HTTPS server to write again every few of those (measured: bench/relay.py, home CPU s/GB)
SEND_BUFFER = 4 << 20
PEEK_PAUSE = 0.005  # only while a CA checks, and only for a ClientHello split in transit


@dataclass
class Traffic:
    """What the tunnel carried since the plugin started; `changed` is told after each count."""

    changed: Callable[[], None] = field(default=lambda: None)
    refused: Callable[[str], None] = field(default=lambda _reason: None)  # told why, each time
    bytes_in: int = 0  # from the relay into the box (what phones send)
    bytes_out: int = 0  # from the box to the relay (what phones receive)
    connections: int = 0
    open: int = 0

    def carried(self, received: int, sent: int) -> None:
        self.bytes_in += received
        self.bytes_out += sent
        self.changed()

    def ended(self) -> None:
        self.open -= 1
        self.changed()


async def read_proxy_header(sock: socket.socket) -> ProxyHeader:
    """The PROXY v2 header at the start of `sock`, read to its last byte and not beyond.
    Raises ProxyHeaderError (not a header, or the stream ended inside it)."""
    loop = asyncio.get_running_loop()
    data, need = b"", FIXED
    while True:
        chunk = await loop.sock_recv(sock, need - len(data))
        if not chunk:
            if data:
                raise ProxyHeaderError(f"the relay's PROXY header ended after {len(data)} bytes")
            raise ConnectionResetError("closed before a byte")
        data += chunk
        header = parse_proxy_header(data)  # raises as soon as the bytes cannot be a header
        if header is not None:
            return header
        if len(data) >= FIXED:
            need = FIXED + struct.unpack_from("!H", data, 14)[0]


class ForwardListener:
    """The Unix socket at `path` that ssh forwards to; each connection goes to `tunnel`."""

    def __init__(
        self,
        path: Path,
        tunnel: TunnelSocket,
        traffic: Traffic,
        validation: Callable[[], ssl.SSLContext | None] = lambda: None,
    ) -> None:
        self.path = path
        self._tunnel = tunnel
        self._traffic = traffic
        self._validation = validation  # the ACME check's context, while a CA checks
        self._sock: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def open_blocking(self) -> None:
        self.path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o600)  # only the box's user (ssh runs as it) may connect
        sock.listen(128)
        self._sock = sock

    async def serve(self) -> None:
        """Accept until cancelled."""
        assert self._sock is not None, "open_blocking first"
        loop = asyncio.get_running_loop()
        try:
            while True:
                conn, _ = await loop.sock_accept(self._sock)
                task = asyncio.create_task(self._take(conn))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self.path.unlink(missing_ok=True)

    async def _take(self, conn: socket.socket) -> None:
        traffic = self._traffic
        traffic.changed()  # a phone is coming: the link's ACKs are prompt meanwhile (quickack.py)
        try:
            async with asyncio.timeout(HEADER_SECONDS):
                header = await read_proxy_header(conn)
                context = await self._context_for(conn)
        except ProxyHeaderError as err:
            conn.close()  # before the server sees a byte: an address nobody vouched for
            traffic.refused(str(err))
            return
        except (OSError, TimeoutError):
            conn.close()
            return
        except BaseException:
            conn.close()
            raise
        traffic.connections += 1
        traffic.open += 1
        traffic.carried(header.length, 0)
        with contextlib.suppress(OSError):  # the kernel caps it at net.core.wmem_max
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        try:
            await self._tunnel.adopt(conn, header.client, traffic, context)
        except (OSError, ssl.SSLError, TimeoutError):
            traffic.ended()  # a phone that left during TLS; the socket is closed
        except BaseException:
            conn.close()
            traffic.ended()
            raise

    async def _context_for(self, conn: socket.socket) -> ssl.SSLContext | None:
        """The validation context for a CA checking TLS-ALPN-01 (only while one does, and
        only if the ClientHello offers exactly acme-tls/1); None: the server's own."""
        validation = self._validation()
        if validation is None:
            return None
        hello = await peek_client_hello(conn)
        return validation if asks_for_validation(hello) else None


async def peek_client_hello(sock: socket.socket) -> bytes:
    """The first TLS record on `sock` (a ClientHello), left unread for the TLS server; fewer
    bytes when the stream ends or is not TLS."""
    loop = asyncio.get_running_loop()
    seen = -1
    while True:
        try:
            data = sock.recv(MAX_RECORD, socket.MSG_PEEK)
        except BlockingIOError:
            data = None
        if data is not None:
            if len(data) < 5 and data:
                need = 5
            else:
                need = 5 + int.from_bytes(data[3:5], "big") if data else 0
            if not data or len(data) >= need or data[0] != TLS_HANDSHAKE:
                return data
            if len(data) == seen:  # peeked bytes stay readable: wait for more, not for that
                await asyncio.sleep(PEEK_PAUSE)
                continue
            seen = len(data)
        ready = loop.create_future()
        loop.add_reader(sock.fileno(), ready.set_result, None)
        try:
            await ready
        finally:
            loop.remove_reader(sock.fileno())
