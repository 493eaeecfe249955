"""Where a tunnel hands its connections to the box's HTTPS server, and who is behind each one.

A tunnel (the relay plugin) carries connections the box did not accept itself: their socket
peer is the tunnel, never the person, so every phone would look alike (one address for sign-in
throttling, one in the access log). So the tunnel connects to the box's Unix socket from a
name of its own for each connection (`TunnelSocket.connect`: bound in a folder only the box's
user may write, never used twice) and, once its relay has said who the client is, vouches
for it (`TunnelSocket.vouch`: that name -> the client's address, until the connection ends).
The origin middleware gives requests on that connection the client's address
(core.http.origin.client_address). Whatever the address, the origin stays `remote`.

A tunnel whose connections arrive on a socket of its own (the relay's OpenSSH child forwards
to the plugin's Unix socket) hands each accepted socket over instead (`TunnelSocket.adopt`):
the HTTPS server reads it directly (no copy in between), the client it names is vouched for
under a name of that connection's own, and what passes is counted for the tunnel's status.

It never parses what a client sent and never vouches by itself: only the tunnel does, for
the connections it made or handed over.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from core.transports import DelegatingProtocol, DelegatingTransport

P = TypeVar("P", bound=asyncio.BaseProtocol)
Wrap = Callable[[asyncio.BaseProtocol], asyncio.BaseProtocol]
HandOver = Callable[[socket.socket, Wrap, "ssl.SSLContext | None"], Awaitable[None]]


class TunnelMeter(Protocol):
    """Told what an adopted connection carried (its plaintext, after TLS) and when it ended."""

    def carried(self, received: int, sent: int) -> None: ...

    def ended(self) -> None: ...


async def _no_hand_over(sock: socket.socket, wrap: Wrap, context: ssl.SSLContext | None) -> None:
    raise OSError("this tunnel socket cannot take accepted connections")


class TunnelPeers:
    """The client behind each tunnel connection: its Unix-socket name -> (address, port)."""

    def __init__(self) -> None:
        self._clients: dict[str, tuple[str, int]] = {}

    def vouch(self, peer: str, client: tuple[str, int]) -> Callable[[], None]:
        """Requests from `peer` come from `client` until the returned remover is called."""
        self._clients[peer] = client

        def forget() -> None:
            if self._clients.get(peer) == client:
                del self._clients[peer]

        return forget

    def client_of(self, peer: object) -> tuple[str, int] | None:
        return self._clients.get(peer) if isinstance(peer, str) and peer else None

    def __len__(self) -> int:
        return len(self._clients)


@dataclass
class TunnelSocket:
    """The Unix socket of the box's HTTPS server for one tunnel (PluginContext.serve_tunnel)."""

    path: str  # where the box's HTTPS server listens for this tunnel
    peers: TunnelPeers
    folder: Path  # private to the box's user; short enough for a socket's name
    hand_over: HandOver = _no_hand_over  # the HTTPS server takes an accepted socket
    _stem: str = field(default_factory=lambda: secrets.token_hex(3))
    _count: itertools.count[int] = field(default_factory=itertools.count)

    async def adopt(
        self,
        sock: socket.socket,
        client: tuple[str, int] | None,
        meter: TunnelMeter,
        context: ssl.SSLContext | None = None,
    ) -> None:
        """Give the HTTPS server a connection the tunnel accepted (its TLS starts at the
        socket's next byte); requests on it come from `client`. `context` replaces the
        server's TLS context for this one connection (a CA's TLS-ALPN-01 check). Returns once
        TLS is up; raises OSError or ssl.SSLError when it is not (the socket is closed)."""
        name = f"{self.folder}/a{self._stem}{next(self._count):x}"  # never a bound socket's
        forget = self.peers.vouch(name, client) if client is not None else lambda: None

        def wrap(inner: asyncio.BaseProtocol) -> asyncio.BaseProtocol:
            assert isinstance(inner, asyncio.Protocol)
            return _AdoptedProtocol(inner, name, meter, forget)

        try:
            await self.hand_over(sock, wrap, context)
        except BaseException:
            forget()
            raise

    async def connect(self, factory: Callable[[], P]) -> tuple[asyncio.Transport, P]:
        """A new connection to the HTTPS server from a name no other connection had."""
        name = self.folder / f"p{self._stem}{next(self._count):x}"  # fits: see serve_tunnel
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.bind(str(name))
            try:
                await loop.sock_connect(sock, self.path)
            finally:
                # the server keeps seeing the name; the folder keeps no file of it
                name.unlink(missing_ok=True)
            return await loop.create_unix_connection(factory, sock=sock)
        except BaseException:
            sock.close()
            raise

    def vouch(
        self, transport: asyncio.BaseTransport, client: tuple[str, int]
    ) -> Callable[[], None]:
        """Requests on this connection (made by `connect`) come from `client`, until the
        returned remover is called (when the connection ends)."""
        name = transport.get_extra_info("sockname")
        if not isinstance(name, str) or Path(name).parent != self.folder:
            raise ValueError("only a connection made by this tunnel socket can be vouched for")
        return self.peers.vouch(name, client)


class _AdoptedTransport(DelegatingTransport):
    """The TLS transport of an adopted connection as the HTTPS server sees it: its peer is
    the name the client was vouched under, and what the server writes is counted."""

    def __init__(self, inner: asyncio.Transport, name: str, meter: TunnelMeter) -> None:
        super().__init__(inner)
        self._name = name
        self._meter = meter

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._meter.carried(0, len(data))
        self._inner.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        chunks = list(list_of_data)
        self._meter.carried(0, sum(len(chunk) for chunk in chunks))
        self._inner.writelines(chunks)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self._name
        return self._inner.get_extra_info(name, default)


class _AdoptedProtocol(DelegatingProtocol):
    """Between the TLS transport and the HTTPS server's protocol: counts what arrives and
    ends the vouching when the connection does."""

    def __init__(
        self, inner: asyncio.Protocol, name: str, meter: TunnelMeter, forget: Callable[[], None]
    ) -> None:
        super().__init__(inner)
        self._name = name
        self._meter = meter
        self._forget = forget

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.inner.connection_made(_AdoptedTransport(transport, self._name, self._meter))

    def data_received(self, data: bytes) -> None:
        self._meter.carried(len(data), 0)
        self.inner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        self._meter.ended()
        self.inner.connection_lost(exc)
