"""The link's TCP connection, opened by the box through its egress gate and handed to ssh.

ssh's ProxyCommand (fd_pass.py) connects to this private control socket; the box then opens
the connection to the relay through the egress gate (checked against consent, recorded in the
ledger) and passes the connected socket over (SCM_RIGHTS). The box keeps its own reference,
never reading from it, so that when ssh is done the ledger's closing row has the bytes the
kernel counted each way. It never reads or writes what the link carries, and answers nothing
but the one ProxyCommand of the ssh it is waiting for.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from core.plugin_api import EgressError, PluginEgress

PURPOSE = "remote access: the SSH link to the relay"


class _Held(asyncio.Protocol):
    """The box's reference to a connection ssh carries: never read (ssh reads the socket)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()  # before the loop's first read: the relay's banner is ssh's

    def data_received(self, data: bytes) -> None:  # pragma: no cover - never reading
        raise AssertionError("the relay link's bytes are ssh's")


class GateDialer:
    """A listening control socket at `path` (0600, in the plugin's private folder)."""

    def __init__(self, path: Path, egress: PluginEgress, host: str, port: int) -> None:
        self.path = path
        self._egress = egress
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None

    def open_blocking(self) -> None:
        self.path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        sock.listen(4)
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self.path.unlink(missing_ok=True)

    async def dial(self, time_limit: float) -> asyncio.BaseTransport:
        """Wait for ssh's ProxyCommand, connect through the gate and hand the socket over.
        The returned transport is the box's reference: close it when ssh has ended. Raises
        EgressError (said to ssh as well) when the gate refuses or the relay cannot be reached."""
        assert self._sock is not None, "open_blocking first"
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self._sock)
        with conn:
            try:
                transport, _ = await self._egress.connect(
                    self._host, self._port, _Held, purpose=PURPOSE, time_limit=time_limit
                )
            except EgressError as err:
                await loop.sock_sendall(conn, str(err).encode()[:1000])
                raise
            try:
                held = transport.get_extra_info("socket")
                socket.send_fds(conn, [b"\0"], [held.fileno()])
            except OSError:
                transport.close()
                raise
        return transport
