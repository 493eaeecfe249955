"""A plugin's own TCP link out through the egress gate: checked like a request, then metered.

For a plugin that keeps one connection open and speaks its own protocol over it (the relay's
SSH link). The destination is checked exactly as a request's is (scope, listed and enabled
hosts) and the connection goes only to the checked addresses, never to a name. The ledger gets
a row for every attempt (refused, failed or connected) and, when the connection ends, one with
the bytes it carried each way. It never reads, changes or buffers what is carried, and never
reconnects by itself.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from core.egress_policy import EgressFailed, EgressRefused
from core.transports import DelegatingProtocol, DelegatingTransport

if TYPE_CHECKING:
    from core.egress import EgressGate
    from core.manifest import Manifest

P = TypeVar("P", bound=asyncio.Protocol)
_BYTES_ACKED = 120  # struct tcp_info: tcpi_bytes_acked, then tcpi_bytes_received (u64 each)
_TCP_INFO_SIZE = _BYTES_ACKED + 16


class _Meter:
    """Counts bytes each way and writes the closing ledger row once."""

    def __init__(self, gate: EgressGate, domain: str, host: str, purpose: str, where: str) -> None:
        self.gate = gate
        self.domain = domain
        self.host = host
        self.purpose = purpose
        self.where = where
        self.bytes_in = 0
        self.bytes_out = 0
        self.opened = time.monotonic()

    def closed(self, exc: BaseException | None) -> None:
        seconds = time.monotonic() - self.opened
        why = f": {exc}" if exc is not None else ""
        self.gate.ledger.record(
            self.domain,
            self.host,
            self.purpose,
            True,
            self.bytes_in,
            self.bytes_out,
            f"TCP {self.where} closed after {seconds:.0f} s{why}",
        )


class _MeteredTransport(DelegatingTransport):
    """The real transport, counting what the plugin's protocol writes."""

    def __init__(self, inner: asyncio.Transport, meter: _Meter) -> None:
        super().__init__(inner)
        self._meter = meter

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._meter.bytes_out += len(data)
        self._inner.write(data)


class _MeteredProtocol(DelegatingProtocol, Generic[P]):
    """Stands between the socket and the plugin's protocol, counting what arrives."""

    inner: P

    def __init__(self, factory: Callable[[], P], meter: _Meter) -> None:
        super().__init__(factory())
        self._meter = meter
        self.transport: _MeteredTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = _MeteredTransport(transport, self._meter)
        self.inner.connection_made(self.transport)

    def data_received(self, data: bytes) -> None:
        self._meter.bytes_in += len(data)
        self.inner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        # a child process may carry the bytes on this socket (the relay's ssh, handed the
        # connection): the kernel's counts, read before the transport closes the socket
        sent, received = kernel_counts(self.transport)
        self._meter.bytes_out = max(self._meter.bytes_out, sent)
        self._meter.bytes_in = max(self._meter.bytes_in, received)
        self._meter.closed(exc)
        self.inner.connection_lost(exc)


def kernel_counts(transport: asyncio.BaseTransport | None) -> tuple[int, int]:
    """(bytes sent and acknowledged, bytes received) on a TCP transport's socket, as Linux
    counts them (TCP_INFO's tcpi_bytes_acked and tcpi_bytes_received); (0, 0) elsewhere."""
    sock: Any = transport.get_extra_info("socket") if transport is not None else None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    except (AttributeError, OSError):
        return 0, 0
    if len(info) < _TCP_INFO_SIZE:  # a kernel older than 4.1 has no byte counts
        return 0, 0
    acked, received = struct.unpack_from("=QQ", info, _BYTES_ACKED)
    return max(0, int(acked) - 1), int(received)  # the SYN counts as one acknowledged byte


async def open_tcp(
    gate: EgressGate,
    manifest: Manifest,
    host: str,
    port: int,
    protocol_factory: Callable[[], P],
    purpose: str,
    time_limit: float,
) -> tuple[asyncio.Transport, P]:
    """Check `host:port` for this plugin, connect to its checked addresses in turn and return
    the (metered) transport and the plugin's protocol. Raises EgressRefused or EgressFailed;
    both are in the ledger."""
    domain, ledger = manifest.domain, gate.ledger
    name = host.lower().rstrip(".")[:255]
    why = purpose.strip() if isinstance(purpose, str) else ""
    try:
        if not why:
            raise EgressRefused("every connection must say its purpose")
        destination = await gate.check_host(manifest, name, port)
    except EgressRefused as err:
        ledger.record(domain, name, why, False, detail=f"refused: {err}")
        gate.refused(domain, name, str(err))
        raise
    except EgressFailed as err:
        ledger.record(domain, name, why, True, detail=f"failed: {err}")
        raise
    loop = asyncio.get_running_loop()
    failure: BaseException | None = None
    for address in destination.addresses:
        where = f"{address.split('%', 1)[0]}:{port}"
        meter = _Meter(gate, domain, destination.host, why, where)
        try:
            async with asyncio.timeout(time_limit):
                _, metered = await loop.create_connection(
                    functools.partial(_MeteredProtocol, protocol_factory, meter),
                    address.split("%", 1)[0],
                    port,
                )
        except (OSError, TimeoutError) as err:  # nothing was carried: try the next address
            failure = err
            continue
        except asyncio.CancelledError:
            ledger.record(domain, destination.host, why, True, detail="cancelled")
            raise
        ledger.record(domain, destination.host, why, True, detail=f"TCP {where} connected")
        assert (
            metered.transport is not None
        )  # connection_made ran before create_connection returned
        return metered.transport, metered.inner
    message = f"cannot connect to {destination.host}:{port}: {failure or 'timed out'}"
    ledger.record(domain, destination.host, why, True, detail=f"failed: {message}")
    raise EgressFailed(message) from failure
