"""Where a tunnel hands its connections to the box's HTTPS server, and who is behind each one.

A tunnel (the relay plugin) carries connections the box did not accept itself: their socket
peer is the tunnel, never the person, so every phone would look alike (one address for sign-in
throttling, one in the access log). So the tunnel connects to the box's Unix socket from a
name of its own for each connection (`TunnelSocket.connect`: bound in a folder only the box's
user may write, never used twice) and, once its relay has said who the client is, vouches
for it (`TunnelSocket.vouch`: that name -> the client's address, until the connection ends).
The origin middleware gives requests on that connection the client's address
(core.http.origin.client_address). Whatever the address, the origin stays `remote`.

It never parses what a client sent and never vouches by itself: only the tunnel does, for
the connections it made.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

P = TypeVar("P", bound=asyncio.BaseProtocol)


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
    _stem: str = field(default_factory=lambda: secrets.token_hex(3))
    _count: itertools.count[int] = field(default_factory=itertools.count)

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
