"""One connection a phone made through the relay: an SSH channel joined to the box's HTTPS socket.

The relay's sshd hands each connection to its loopback port to the box as a forwarded channel;
here it is joined to a new connection to the Unix socket where the box's own HTTPS server
listens (PluginContext.serve_tunnel, so it is `remote` there). Bytes are copied as they come,
each side's back-pressure passed to the other (a slow phone pauses the HTTPS server's socket; a
slow server stops reading the channel, whose SSH window then holds the relay back), and
counted. What passes is TLS between the phone and the box: this module never sees plaintext,
never looks inside, and opens nothing but the local socket.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncssh


@dataclass
class Traffic:
    """What the tunnel carried since the plugin started; `changed` is told after each count."""

    changed: Callable[[], None] = field(default=lambda: None)
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
        if self.channel is not None:
            self.channel.close()


class _ForwardedSession(asyncssh.SSHTCPSession[bytes]):
    """The relay's side of one connection: what the phone sends goes to the local socket."""

    def __init__(self, local: _LocalSide, traffic: Traffic) -> None:
        self._local = local
        self._traffic = traffic

    def connection_made(self, chan: asyncssh.SSHTCPChannel[bytes]) -> None:
        self._local.attach(chan)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self._traffic.bytes_in += len(data)
        if self._local.transport is not None:
            self._local.transport.write(data)
        self._traffic.changed()

    def eof_received(self) -> bool:
        if self._local.transport is not None and self._local.transport.can_write_eof():
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
    socket_path: str, traffic: Traffic, _orig_host: str, _orig_port: int
) -> _ForwardedSession:
    """Accept a forwarded channel once the box's HTTPS socket took the connection."""
    local = _LocalSide(traffic)
    loop = asyncio.get_running_loop()
    try:
        await loop.create_unix_connection(lambda: local, socket_path)
    except OSError as err:  # the relay closes the phone's connection
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_CONNECT_FAILED, f"the box's HTTPS server did not answer: {err}"
        ) from err
    traffic.connections += 1
    traffic.open += 1
    traffic.changed()
    return _ForwardedSession(local, traffic)


def session_factory(
    socket_path: str, traffic: Traffic
) -> Callable[[str, int], Coroutine[Any, Any, _ForwardedSession]]:
    """What `SSHClientConnection.create_server` calls for each forwarded connection."""
    return functools.partial(_open, socket_path, traffic)
