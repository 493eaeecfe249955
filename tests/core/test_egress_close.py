"""A request that says `Connection: close` never rides a pooled connection. libupnp devices
(gmediarender, many TVs) answer without saying they close, then drop the socket: reusing it
for the next SOAP call failed with `Can not write request body` / `Server disconnected`. The
device here answers one request per connection and drops any second one unanswered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.egress import EgressFailed, EgressGate
from core.manifest import Manifest, NetworkScope

LAN = Manifest("probe", "Probe", "1", "target", (), (), NetworkScope("lan", (), "test"))


class OneAnswerDevice:
    """Answers the first request on each connection; a second one is met with a close."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nEXT:\r\n\r\nok")
        await writer.drain()
        await reader.read(1)  # the next request on this connection, or the client's close
        writer.close()


@pytest.fixture
async def device() -> AsyncIterator[OneAnswerDevice]:
    found = OneAnswerDevice()
    server = await asyncio.start_server(found.serve, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


async def test_connection_close_requests_each_get_a_fresh_connection(
    device: OneAnswerDevice,
) -> None:
    gate = EgressGate({})
    try:
        http = gate.for_plugin(LAN)
        url = f"http://127.0.0.1:{device.port}/upnp/control/rendertransport1"
        for _ in range(3):
            reply = await http.post(
                url, purpose="control a TV", data=b"<soap/>", headers={"Connection": "close"}
            )
            assert reply.body == b"ok"
        assert device.connections == 3
        # Without it the pooled connection is reused, and the device has dropped it.
        await http.post(url, purpose="control a TV", data=b"<soap/>")
        with pytest.raises(EgressFailed):
            await http.post(url, purpose="control a TV", data=b"<soap/>")
    finally:
        await gate.close()
