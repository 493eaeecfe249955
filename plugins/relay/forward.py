"""One connection a phone made through the relay: an SSH channel joined to the box's HTTPS socket.

The relay's sshd hands each connection to its loopback port to the box as a forwarded channel;
here it is joined to a new connection to the Unix socket where the box's own HTTPS server
listens (PluginContext.serve_tunnel, so it is `remote` there). Bytes are copied as they come,
each side's back-pressure passed to the other (a slow phone pauses the HTTPS server's socket; a
slow server stops reading the channel, whose SSH window then holds the relay back), and
counted.

Every channel starts with the relay HAProxy's PROXY v2 header (proxy_header.py), which says
the phone's address: it is read and stripped here, and the tunnel socket vouches for that
address on this connection (core.http.tunnel), so sign-in throttling and the access log tell
phones apart. A channel without a valid header is closed before a byte reaches the server:
a phone's own bytes only ever follow the relay's header, so no phone can name its address.
After the header, what passes is TLS between the phone and the box: this module never sees
plaintext, never looks inside, and opens nothing but the local socket.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from core.http.tunnel import TunnelSocket
from plugins.relay.proxy_header import ProxyHeaderError, parse_proxy_header


@dataclass
class Traffic:
    """What the tunnel carried since the plugin started; `changed` is told after each count."""

    changed: Callable[[], None] = field(default=lambda: None)
    refused: Callable[[str], None] = field(default=lambda _reason: None)  # told why, each time
    bytes_in: int = 0  # from the relay into the box (what phones send)
    bytes_out: int = 0  # from the box to the relay (what phones receive)
    connections: int = 0
    open: int = 0


class _LocalSide(asyncio.Protocol):
    """The connection to the box's HTTPS socket: what it answers goes to the channel."""

    def __init__(self, traffic: Traffic) -> None:
        self._traffic = traffic
        self.transport: asyncio.Transport | None = None
        self.channel: asyncssh.SSHTCPChannel[bytes] | None = None
        self._early: list[bytes] = []  # a server that speaks before the channel is open
        self.forget: Callable[[], None] = lambda: None  # ends the tunnel's word for the phone

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def attach(self, channel: asyncssh.SSHTCPChannel[bytes]) -> None:
        self.channel = channel
        for data in self._early:
            channel.write(data)
        self._early.clear()

    def data_received(self, data: bytes) -> None:
        self._traffic.bytes_out += len(data)
        if self.channel is None:
            self._early.append(data)
        else:
            self.channel.write(data)
        self._traffic.changed()

    def eof_received(self) -> bool:
        if self.channel is not None:
            self.channel.write_eof()
        return True  # the phone may still be sending: close when both sides are done

    def pause_writing(self) -> None:
        if self.channel is not None:
            self.channel.pause_reading()

    def resume_writing(self) -> None:
        if self.channel is not None:
            self.channel.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.forget()
        if self.channel is not None:
            self.channel.close()


class _ForwardedSession(asyncssh.SSHTCPSession[bytes]):
    """The relay's side of one connection: its PROXY header is read, then what the phone
    sends goes to the local socket."""

    def __init__(self, local: _LocalSide, tunnel: TunnelSocket, traffic: Traffic) -> None:
        self._local = local
        self._tunnel = tunnel
        self._traffic = traffic
        self._channel: asyncssh.SSHTCPChannel[bytes] | None = None
        self._header: bytearray | None = bytearray()  # None once the header is read
        self._refused = False

    def connection_made(self, chan: asyncssh.SSHTCPChannel[bytes]) -> None:
        self._channel = chan
        self._local.attach(chan)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self._traffic.bytes_in += len(data)
        if self._header is not None:
            data = self._after_header(data)
        if self._refused:
            return
        if data and self._local.transport is not None:
            self._local.transport.write(data)
        self._traffic.changed()

    def _after_header(self, data: bytes) -> bytes:
        """Buffer until the relay's header is whole; the phone's bytes after it (or none)."""
        assert self._header is not None
        self._header += data
        try:
            header = parse_proxy_header(bytes(self._header))
        except ProxyHeaderError as err:
            self._refuse(str(err))
            return b""
        if header is None:
            return b""
        rest = bytes(self._header[header.length :])
        self._header = None
        transport = self._local.transport
        if header.client is not None and transport is not None:
            self._local.forget = self._tunnel.vouch(transport, header.client)
        return rest

    def _refuse(self, reason: str) -> None:
        """Close both ends before the server sees a byte: an address nobody vouched for
        would make every phone look alike again, and a phone could name its own."""
        self._header, self._refused = None, True
        if self._local.transport is not None:
            self._local.transport.abort()
        if self._channel is not None:
            self._channel.close()
        self._traffic.refused(reason)

    def eof_received(self) -> bool:
        if self._header:  # the relay ended inside its own header
            self._refuse(f"the relay's PROXY header ended after {len(self._header)} bytes")
        elif self._local.transport is not None and self._local.transport.can_write_eof():
            self._local.transport.write_eof()
        return True

    def pause_writing(self) -> None:
        if self._local.transport is not None:
            self._local.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._local.transport is not None:
            self._local.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._local.transport is not None:
            self._local.transport.close()
        self._traffic.open -= 1
        self._traffic.changed()


async def _open(
    tunnel: TunnelSocket, traffic: Traffic, _orig_host: str, _orig_port: int
) -> _ForwardedSession:
    """Accept a forwarded channel once the box's HTTPS socket took the connection (made
    before the relay's header arrives, so it costs the phone no extra wait)."""
    local = _LocalSide(traffic)
    try:
        await tunnel.connect(lambda: local)
    except OSError as err:  # the relay closes the phone's connection
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_CONNECT_FAILED, f"the box's HTTPS server did not answer: {err}"
        ) from err
    traffic.connections += 1
    traffic.open += 1
    traffic.changed()
    return _ForwardedSession(local, tunnel, traffic)


def session_factory(
    tunnel: TunnelSocket, traffic: Traffic
) -> Callable[[str, int], Coroutine[Any, Any, _ForwardedSession]]:
    """What `SSHClientConnection.create_server` calls for each forwarded connection."""
    return functools.partial(_open, tunnel, traffic)
